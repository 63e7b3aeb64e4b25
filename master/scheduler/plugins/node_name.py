"""NodeName: a pod that names its node fits only there."""

from __future__ import annotations

from master.scheduler.framework import SUCCESS, CycleState, NodeInfo, PodInfo, Status, register

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"


@register(NAME)
class NodeName:
    """Rejects every node but spec.nodeName when it is set."""

    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unresolvable: the pod asked for another node."""
        wanted = pod.pod.spec.node_name
        if not wanted or wanted == node.name:
            return SUCCESS
        return Status.unresolvable(NAME, REASON)

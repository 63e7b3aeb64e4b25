"""NodeUnschedulable: a cordoned node takes no new pods unless they tolerate the cordon."""

from __future__ import annotations

from master.scheduler.framework import SUCCESS, CycleState, NodeInfo, PodInfo, Status, register
from master.scheduler.matching import tolerated
from proto import core_pb2

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = core_pb2.Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


@register(NAME)
class NodeUnschedulable:
    """Rejects nodes with spec.unschedulable, unless the pod tolerates the cordon taint."""

    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unresolvable: evicting pods does not uncordon a node."""
        if not node.node.spec.unschedulable:
            return SUCCESS
        if tolerated(UNSCHEDULABLE_TAINT, pod.pod.spec.tolerations):
            return SUCCESS
        return Status.unresolvable(NAME, REASON)

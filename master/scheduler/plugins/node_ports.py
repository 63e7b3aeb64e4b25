"""NodePorts: two pods cannot claim the same hostPort on one node."""

from __future__ import annotations

from master.scheduler.framework import SUCCESS, CycleState, NodeInfo, PodInfo, Status, register

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"


@register(NAME)
class NodePorts:
    """Rejects nodes where a wanted hostPort (same protocol, overlapping IP) is taken."""

    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unschedulable: evicting the holder would free the port."""
        for want in pod.host_ports:
            if any(want.conflicts(used) for used in node.used_ports):
                return Status.unschedulable(NAME, REASON)
        return SUCCESS

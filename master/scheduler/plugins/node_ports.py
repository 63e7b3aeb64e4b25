"""NodePorts: two pods cannot claim the same hostPort on one node."""

from __future__ import annotations

import numpy as np

from master.scheduler import framework
from master.scheduler.nodetable import BoolArray

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"


@framework.register(NAME)
class NodePorts(framework.FilterWhen):
    """Rejects nodes where a wanted hostPort (same protocol, overlapping IP) is taken."""

    name = NAME

    @staticmethod
    def filter_applies(pod: framework.PodInfo, snapshot: framework.Snapshot) -> bool:
        """Only pods that want a hostPort."""
        return bool(pod.host_ports)

    def filter(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status:
        """Unschedulable: evicting the holder would free the port."""
        for want in pod.host_ports:
            if any(want.conflicts(used) for used in node.used_ports):
                return framework.Status.unschedulable(NAME, REASON)
        return framework.SUCCESS

    def filter_batch(
        self, state: framework.CycleState, pod: framework.PodInfo, snapshot: framework.Snapshot
    ) -> BoolArray:
        """Nodes with no hostPort taken pass; the others are checked one by one."""
        taken = snapshot.table.used_ports
        if not pod.host_ports:
            return np.ones(len(taken), np.bool_)
        return framework.filter_flagged(self, state, pod, snapshot, taken)

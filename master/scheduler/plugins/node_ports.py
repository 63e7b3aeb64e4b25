"""NodePorts: two pods cannot claim the same hostPort on one node."""

from __future__ import annotations

import numpy as np

from master.scheduler.framework import (
    SUCCESS,
    CycleState,
    NodeInfo,
    PodInfo,
    Snapshot,
    Status,
    register,
)
from master.scheduler.nodetable import BoolArray

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"


@register(NAME)
class NodePorts:
    """Rejects nodes where a wanted hostPort (same protocol, overlapping IP) is taken."""

    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status:
        """Skip pods that want no hostPort."""
        return SUCCESS if pod.host_ports else Status.skip(NAME)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unschedulable: evicting the holder would free the port."""
        for want in pod.host_ports:
            if any(want.conflicts(used) for used in node.used_ports):
                return Status.unschedulable(NAME, REASON)
        return SUCCESS

    def filter_batch(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> BoolArray:
        """Nodes with no hostPort taken pass; the others are checked one by one."""
        taken = snapshot.table.used_ports
        if not pod.host_ports:
            return np.ones(len(taken), np.bool_)
        mask = ~taken
        nodes = snapshot.nodes
        for row in taken.nonzero()[0].tolist():
            mask[row] = self.filter(state, pod, nodes[row]).ok
        return mask

"""NodeUnschedulable: a cordoned node takes no new pods unless they tolerate the cordon."""

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
from master.scheduler.matching import tolerated
from master.scheduler.nodetable import BoolArray
from proto import core_pb2

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = core_pb2.Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


@register(NAME)
class NodeUnschedulable:
    """Rejects nodes with spec.unschedulable, unless the pod tolerates the cordon taint."""

    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status:
        """Skip when no node is cordoned, or the pod tolerates the cordon anyway."""
        if not snapshot.table.any("unschedulable"):
            return Status.skip(NAME)
        if tolerated(UNSCHEDULABLE_TAINT, pod.pod.spec.tolerations):
            return Status.skip(NAME)
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unresolvable: evicting pods does not uncordon a node."""
        if not node.unschedulable:
            return SUCCESS
        if tolerated(UNSCHEDULABLE_TAINT, pod.pod.spec.tolerations):
            return SUCCESS
        return Status.unresolvable(NAME, REASON)

    def filter_batch(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> BoolArray:
        """Every node not cordoned, or every node for a pod tolerating the cordon."""
        table = snapshot.table
        if tolerated(UNSCHEDULABLE_TAINT, pod.pod.spec.tolerations):
            return np.ones(table.size, np.bool_)
        return ~table.unschedulable

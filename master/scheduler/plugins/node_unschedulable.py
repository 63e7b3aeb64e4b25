"""NodeUnschedulable: a cordoned node takes no new pods unless they tolerate the cordon."""

from __future__ import annotations

import numpy as np

from master.scheduler import framework
from master.scheduler.matching import tolerated
from master.scheduler.nodetable import BoolArray
from proto import core_pb2

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = core_pb2.Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


@framework.register(NAME)
class NodeUnschedulable(framework.FilterWhen):
    """Rejects nodes with spec.unschedulable, unless the pod tolerates the cordon taint."""

    name = NAME

    @staticmethod
    def filter_applies(pod: framework.PodInfo, snapshot: framework.Snapshot) -> bool:
        """Only when some node is cordoned and the pod does not tolerate the cordon."""
        if not snapshot.table.any("unschedulable"):
            return False
        return not tolerated(UNSCHEDULABLE_TAINT, pod.pod.spec.tolerations)

    def filter(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status:
        """Unresolvable: evicting pods does not uncordon a node."""
        if not node.unschedulable:
            return framework.SUCCESS
        if tolerated(UNSCHEDULABLE_TAINT, pod.pod.spec.tolerations):
            return framework.SUCCESS
        return framework.Status.unresolvable(NAME, REASON)

    def filter_batch(
        self, state: framework.CycleState, pod: framework.PodInfo, snapshot: framework.Snapshot
    ) -> BoolArray:
        """Every node not cordoned, or every node for a pod tolerating the cordon."""
        table = snapshot.table
        if tolerated(UNSCHEDULABLE_TAINT, pod.pod.spec.tolerations):
            return np.ones(table.size, np.bool_)
        return ~table.unschedulable

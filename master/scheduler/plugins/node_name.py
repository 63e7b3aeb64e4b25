"""NodeName: a pod that names its node fits only there."""

from __future__ import annotations

import numpy as np

from master.scheduler import framework
from master.scheduler.nodetable import BoolArray

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"


@framework.register(NAME)
class NodeName(framework.FilterWhen):
    """Rejects every node but spec.nodeName when it is set."""

    name = NAME

    @staticmethod
    def filter_applies(pod: framework.PodInfo, snapshot: framework.Snapshot) -> bool:
        """Only pods that name a node: nearly none."""
        return bool(pod.pod.spec.node_name)

    def filter(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status:
        """Unresolvable: the pod asked for another node."""
        wanted = pod.pod.spec.node_name
        if not wanted or wanted == node.name:
            return framework.SUCCESS
        return framework.Status.unresolvable(NAME, REASON)

    def filter_batch(
        self, state: framework.CycleState, pod: framework.PodInfo, snapshot: framework.Snapshot
    ) -> BoolArray:
        """Only the named node's row."""
        table = snapshot.table
        wanted = pod.pod.spec.node_name
        if not wanted:
            return np.ones(table.size, np.bool_)
        mask = np.zeros(table.size, np.bool_)
        row = table.rows.get(wanted)
        if row is not None:
            mask[row] = True
        return mask

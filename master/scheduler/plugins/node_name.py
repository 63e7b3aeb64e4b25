"""NodeName: a pod that names its node fits only there."""

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

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"


@register(NAME)
class NodeName:
    """Rejects every node but spec.nodeName when it is set."""

    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status:
        """Skip pods that name no node: nearly all of them."""
        return SUCCESS if pod.pod.spec.node_name else Status.skip(NAME)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unresolvable: the pod asked for another node."""
        wanted = pod.pod.spec.node_name
        if not wanted or wanted == node.name:
            return SUCCESS
        return Status.unresolvable(NAME, REASON)

    def filter_batch(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> BoolArray:
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

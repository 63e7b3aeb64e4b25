"""The snapshot's nodes as columns: one numpy array per figure the hot plugins read.

Why columns: in a 5,000-node cluster a pod looks at hundreds of nodes, and a Python call
per node and plugin costs more than the rest of the decision together. With the
requested and allocatable amounts, the cordon, the taint and port flags of every node
in arrays, NodeResourcesFit, the cheap filters and the resource scores become a few
array operations per pod, whatever the node count. The table mirrors the `NodeInfo`s
(row i is `snapshot.nodes[i]`): the cache rewrites only the rows of nodes that changed
since the last cycle (`set_row`), and builds it anew only when nodes come or go.

Every batch stage that reads it must decide exactly as the plugin's per-node Filter or
Score would (tests/unit/scheduler/test_batch_equivalence.py holds them to it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from master.scheduler.framework import NodeInfo

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


FLAGS = (
    "unschedulable",
    "hard_taints",
    "soft_taints",
    "used_ports",
    "affinity_pods",
    "anti_affinity_pods",
)
"""The boolean columns, each with a count of the rows that have it."""


class NodeTable:
    """Per-node figures as arrays, row i for the snapshot's i-th node."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: dict[str, int] = {}
        """Row of each node name."""
        self.alloc_cpu: IntArray = np.zeros(size, np.int64)
        self.alloc_memory: IntArray = np.zeros(size, np.int64)
        self.alloc_pods: IntArray = np.zeros(size, np.int64)
        self.req_cpu: IntArray = np.zeros(size, np.int64)
        self.req_memory: IntArray = np.zeros(size, np.int64)
        self.req_pods: IntArray = np.zeros(size, np.int64)
        self.non_zero_cpu: IntArray = np.zeros(size, np.int64)
        self.non_zero_memory: IntArray = np.zeros(size, np.int64)
        self.unschedulable: BoolArray = np.zeros(size, np.bool_)
        self.hard_taints: BoolArray = np.zeros(size, np.bool_)
        """Any NoSchedule or NoExecute taint."""
        self.soft_taints: BoolArray = np.zeros(size, np.bool_)
        """Any PreferNoSchedule taint."""
        self.used_ports: BoolArray = np.zeros(size, np.bool_)
        self.affinity_pods: BoolArray = np.zeros(size, np.bool_)
        """A pod here has some pod (anti-)affinity term."""
        self.anti_affinity_pods: BoolArray = np.zeros(size, np.bool_)
        """A pod here has a required anti-affinity term."""
        self.counts: dict[str, int] = dict.fromkeys(FLAGS, 0)
        """How many rows have each flag set, kept with the rows: PreFilters ask "any node
        cordoned? tainted? with anti-affinity pods?" for every pod."""

    @staticmethod
    def of(nodes: Sequence[NodeInfo]) -> NodeTable:
        """A table over `nodes`, in their order (a column at a time: when nodes come or
        go the cache builds the table anew, and 5,000 rows one by one would be slow)."""
        t = NodeTable(len(nodes))
        t.rows = {info.name: i for i, info in enumerate(nodes)}

        def column(values: Iterable[int], dtype: type[np.generic]) -> npt.NDArray[Any]:
            return np.fromiter(values, dtype, count=len(nodes))

        t.alloc_cpu = column((n.allocatable.milli_cpu for n in nodes), np.int64)
        t.alloc_memory = column((n.allocatable.memory for n in nodes), np.int64)
        t.alloc_pods = column((n.allocatable.pods for n in nodes), np.int64)
        t.req_cpu = column((n.requested.milli_cpu for n in nodes), np.int64)
        t.req_memory = column((n.requested.memory for n in nodes), np.int64)
        t.req_pods = column((n.requested.pods for n in nodes), np.int64)
        t.non_zero_cpu = column((n.non_zero_requested.milli_cpu for n in nodes), np.int64)
        t.non_zero_memory = column((n.non_zero_requested.memory for n in nodes), np.int64)
        t.unschedulable = column((n.unschedulable for n in nodes), np.bool_)
        t.hard_taints = column((bool(n.hard_taints) for n in nodes), np.bool_)
        t.soft_taints = column((bool(n.soft_taints) for n in nodes), np.bool_)
        t.used_ports = column((bool(n.used_ports) for n in nodes), np.bool_)
        t.affinity_pods = column((bool(n.affinity_pods) for n in nodes), np.bool_)
        t.anti_affinity_pods = column(
            (bool(n.required_anti_affinity_pods) for n in nodes), np.bool_
        )
        t.counts = {name: int(np.count_nonzero(getattr(t, name))) for name in FLAGS}
        return t

    def set_row(self, i: int, info: NodeInfo) -> None:
        """Copy the node's current figures into row i."""
        alloc, req, non_zero = info.allocatable, info.requested, info.non_zero_requested
        self.alloc_cpu[i] = alloc.milli_cpu
        self.alloc_memory[i] = alloc.memory
        self.alloc_pods[i] = alloc.pods
        self.req_cpu[i] = req.milli_cpu
        self.req_memory[i] = req.memory
        self.req_pods[i] = req.pods
        self.non_zero_cpu[i] = non_zero.milli_cpu
        self.non_zero_memory[i] = non_zero.memory
        flags = (
            info.unschedulable,
            bool(info.hard_taints),
            bool(info.soft_taints),
            bool(info.used_ports),
            bool(info.affinity_pods),
            bool(info.required_anti_affinity_pods),
        )
        counts = self.counts
        for name, value in zip(FLAGS, flags, strict=True):
            column: BoolArray = getattr(self, name)
            if column[i] != value:
                counts[name] += 1 if value else -1
                column[i] = value

    def any(self, flag: str) -> bool:
        """Some row has the flag (one of FLAGS)."""
        return self.counts[flag] > 0

    def with_row(self, i: int, info: NodeInfo) -> NodeTable:
        """A copy with row i replaced by `info` (preemption's what-if views)."""
        out = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                setattr(out, name, value.copy())
        out.counts = dict(self.counts)
        out.set_row(i, info)
        return out

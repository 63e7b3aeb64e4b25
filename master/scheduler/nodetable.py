"""The snapshot's nodes as columns: one numpy array per figure the hot plugins read.

Why columns: in a 5,000-node cluster a pod looks at hundreds of nodes, and a Python call
per node and plugin costs more than the rest of the decision together. With the
requested and allocatable amounts, the cordon, the taint and port flags of every node
in arrays, NodeResourcesFit, the cheap filters and the resource scores become a few
array operations per pod, whatever the node count. The table mirrors the `NodeInfo`s
(row i is `snapshot.nodes[i]`): the cache rewrites only the rows of nodes that changed
since the last cycle (`set_row`).

Why rows are appended and reused rather than the table rebuilt when nodes come or go:
a rebuild reads every node, about 4 ms at 5,000 nodes, and a cluster that is growing
(nodes registering while pods are placed) would pay it on every cycle. So each column
lives in a buffer with room to grow (doubling, as a list does) and the column is a view
of its first `size` rows: a new node takes the next row, a removed node's row is taken
by the last node (swap-remove), and rows stay dense, as the batch plugins need.

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

AMOUNTS = (
    "alloc_cpu",
    "alloc_memory",
    "alloc_pods",
    "req_cpu",
    "req_memory",
    "req_pods",
    "non_zero_cpu",
    "non_zero_memory",
)
"""The integer columns."""

MIN_CAPACITY = 16


class NodeTable:
    """Per-node figures as arrays, row i for the snapshot's i-th node."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: dict[str, int] = {}
        """Row of each node name."""
        self.names: list[str] = []
        """Name of each row (the inverse of `rows`)."""
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
        self._buffers: dict[str, npt.NDArray[Any]] = {
            name: getattr(self, name) for name in (*AMOUNTS, *FLAGS)
        }
        """Each column's storage; the column attribute is a view of its first `size` rows."""

    @staticmethod
    def of(nodes: Sequence[NodeInfo]) -> NodeTable:
        """A table over `nodes`, in their order (a column at a time: the first table of
        5,000 nodes row by row would be slow)."""
        t = NodeTable(len(nodes))
        t.names = [info.name for info in nodes]
        t.rows = {name: i for i, name in enumerate(t.names)}

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
        t._buffers = {name: getattr(t, name) for name in (*AMOUNTS, *FLAGS)}
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

    def append(self, info: NodeInfo) -> int:
        """A new last row for the node; its row number."""
        i = self.size
        capacity = len(self._buffers["alloc_cpu"])
        if i == capacity:
            grown = max(MIN_CAPACITY, 2 * capacity)
            for name, old in self._buffers.items():
                new = np.zeros(grown, old.dtype)
                new[:i] = old[:i]
                self._buffers[name] = new
        self._resize(i + 1)
        for name in FLAGS:
            # The row may hold a removed node's flags: clear them so set_row counts right.
            getattr(self, name)[i] = False
        self.set_row(i, info)
        self.rows[info.name] = i
        self.names.append(info.name)
        return i

    def remove(self, name: str) -> int | None:
        """Drop the node's row; the last row moves into it. The row that was filled
        this way (None when the node's was the last row, or not there)."""
        i = self.rows.pop(name, None)
        if i is None:
            return None
        for flag in FLAGS:
            if getattr(self, flag)[i]:
                self.counts[flag] -= 1
        last = self.size - 1
        moved = self.names.pop()
        if i != last:
            for buffer in self._buffers.values():
                buffer[i] = buffer[last]
            self.names[i] = moved
            self.rows[moved] = i
        self._resize(last)
        return i if i != last else None

    def _resize(self, size: int) -> None:
        self.size = size
        for name, buffer in self._buffers.items():
            setattr(self, name, buffer[:size])

    def any(self, flag: str) -> bool:
        """Some row has the flag (one of FLAGS)."""
        return self.counts[flag] > 0

    def with_row(self, i: int, info: NodeInfo) -> NodeTable:
        """A copy with row i replaced by `info` (preemption's what-if views). It shares
        `rows` and `names`: a what-if changes figures, never which nodes there are."""
        out = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                setattr(out, name, value.copy())
        out._buffers = {name: getattr(out, name) for name in self._buffers}
        out.counts = dict(self.counts)
        out.set_row(i, info)
        return out

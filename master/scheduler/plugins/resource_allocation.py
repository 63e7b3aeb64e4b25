"""The common half of the scores that weigh a node's cpu and memory (Kubernetes'
resourceAllocationScorer).

LeastAllocated and BalancedAllocation differ only in how they turn "requested after
placing the pod" and "allocatable" into a score; what they read from the node, the pod
and the NodeTable is the same, so it is read here once, for both the per-node and the
batch form, and each plugin supplies just its formula.
"""

from __future__ import annotations

from master.scheduler import framework
from master.scheduler.nodetable import IntArray, NodeTable


class ResourceAllocationScorer:
    """A Score over cpu and memory as non-zero requests (pod included) against allocatable.

    Requests count with Kubernetes' non-zero defaults, so request-less pods still spread.
    """

    def score(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> int:
        """`resource_score` of the node with the pod placed on it."""
        want, used, alloc = pod.non_zero_requests, node.non_zero_requested, node.allocatable
        return self.resource_score(
            used.milli_cpu + want.milli_cpu,
            alloc.milli_cpu,
            used.memory + want.memory,
            alloc.memory,
        )

    def score_batch(
        self, state: framework.CycleState, pod: framework.PodInfo, table: NodeTable, rows: IntArray
    ) -> IntArray:
        """`score` for the nodes of `rows`, as arrays."""
        want = pod.non_zero_requests
        return self.resource_scores(
            table.non_zero_cpu[rows] + want.milli_cpu,
            table.alloc_cpu[rows],
            table.non_zero_memory[rows] + want.memory,
            table.alloc_memory[rows],
        )

    def resource_score(self, cpu: int, alloc_cpu: int, memory: int, alloc_memory: int) -> int:
        """The score from requested and allocatable milli-cpu and memory bytes."""
        raise NotImplementedError

    def resource_scores(
        self, cpu: IntArray, alloc_cpu: IntArray, memory: IntArray, alloc_memory: IntArray
    ) -> IntArray:
        """`resource_score` element-wise, exactly."""
        raise NotImplementedError

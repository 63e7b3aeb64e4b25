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
    """A Score over cpu and memory requested (pod included) against allocatable.

    Requests count with Kubernetes' non-zero defaults (100m, 200Mi for a container that
    asks for none), so request-less pods still spread; unless `use_requested`, when they
    count as asked, as Kubernetes' BalancedAllocation counts them.
    """

    use_requested = False
    """Count requests as asked, without the non-zero defaults."""

    def score(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> int:
        """`resource_score` of the node with the pod placed on it."""
        if self.use_requested:
            want, used = pod.requests, node.requested
        else:
            want, used = pod.non_zero_requests, node.non_zero_requested
        alloc = node.allocatable
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
        if self.use_requested:
            want, cpu, memory = pod.requests, table.req_cpu, table.req_memory
        else:
            want, cpu, memory = pod.non_zero_requests, table.non_zero_cpu, table.non_zero_memory
        return self.resource_scores(
            cpu[rows] + want.milli_cpu,
            table.alloc_cpu[rows],
            memory[rows] + want.memory,
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

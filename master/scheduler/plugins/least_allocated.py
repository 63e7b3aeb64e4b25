"""LeastAllocated: prefer the node with the most free cpu and memory after placing the pod."""

from __future__ import annotations

import numpy as np

from master.scheduler.framework import (
    MAX_NODE_SCORE,
    CycleState,
    NodeInfo,
    PodInfo,
    register,
)
from master.scheduler.nodetable import IntArray, NodeTable

NAME = "NodeResourcesLeastAllocated"


def _free_share(requested: int, allocatable: int) -> int:
    if allocatable <= 0 or requested > allocatable:
        return 0
    return (allocatable - requested) * MAX_NODE_SCORE // allocatable


def _free_shares(requested: IntArray, allocatable: IntArray) -> IntArray:
    """`_free_share` element-wise: nothing free (over-requested, or no allocatable at all)
    gives 0 through the clamp, and the divisor is never below 1."""
    free = np.maximum(allocatable - requested, 0)
    shares: IntArray = free * MAX_NODE_SCORE // np.maximum(allocatable, 1)
    return shares


@register(NAME)
class LeastAllocated:
    """Mean over cpu and memory of (allocatable - requested) / allocatable, in 0..100.

    Requests count with Kubernetes' non-zero defaults, so request-less pods still spread.
    """

    name = NAME
    weight = 1

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        """Higher when more stays free."""
        cpu = node.non_zero_requested.milli_cpu + pod.non_zero_requests.milli_cpu
        mem = node.non_zero_requested.memory + pod.non_zero_requests.memory
        return (
            _free_share(cpu, node.allocatable.milli_cpu) + _free_share(mem, node.allocatable.memory)
        ) // 2

    def score_batch(
        self, state: CycleState, pod: PodInfo, table: NodeTable, rows: IntArray
    ) -> IntArray:
        """`score` for the nodes of `rows`, as arrays."""
        want = pod.non_zero_requests
        cpu = _free_shares(table.non_zero_cpu[rows] + want.milli_cpu, table.alloc_cpu[rows])
        mem = _free_shares(table.non_zero_memory[rows] + want.memory, table.alloc_memory[rows])
        scores: IntArray = (cpu + mem) // 2
        return scores

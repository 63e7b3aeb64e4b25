"""LeastAllocated: prefer the node with the most free cpu and memory after placing the pod."""

from __future__ import annotations

import numpy as np

from master.scheduler import framework
from master.scheduler.nodetable import IntArray
from master.scheduler.plugins.resource_allocation import ResourceAllocationScorer

NAME = "NodeResourcesLeastAllocated"


def _free_share(requested: int, allocatable: int) -> int:
    if allocatable <= 0 or requested > allocatable:
        return 0
    return (allocatable - requested) * framework.MAX_NODE_SCORE // allocatable


def _free_shares(requested: IntArray, allocatable: IntArray) -> IntArray:
    """`_free_share` element-wise: nothing free (over-requested, or no allocatable at all)
    gives 0 through the clamp, and the divisor is never below 1."""
    free = np.maximum(allocatable - requested, 0)
    shares: IntArray = free * framework.MAX_NODE_SCORE // np.maximum(allocatable, 1)
    return shares


@framework.register(NAME)
class LeastAllocated(ResourceAllocationScorer):
    """Mean over cpu and memory of (allocatable - requested) / allocatable, in 0..100."""

    name = NAME
    weight = 1

    def resource_score(self, cpu: int, alloc_cpu: int, memory: int, alloc_memory: int) -> int:
        """Higher when more stays free."""
        return (_free_share(cpu, alloc_cpu) + _free_share(memory, alloc_memory)) // 2

    def resource_scores(
        self, cpu: IntArray, alloc_cpu: IntArray, memory: IntArray, alloc_memory: IntArray
    ) -> IntArray:
        """`resource_score` element-wise."""
        scores: IntArray = (_free_shares(cpu, alloc_cpu) + _free_shares(memory, alloc_memory)) // 2
        return scores

"""BalancedAllocation: prefer nodes whose cpu and memory use stay in proportion.

It weighs what pods actually request, not the non-zero defaults LeastAllocated uses, as
Kubernetes' BalancedAllocation does: a pod without requests scores every node by the
balance of what is already requested there.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from master.scheduler import framework
from master.scheduler.nodetable import IntArray
from master.scheduler.plugins.resource_allocation import ResourceAllocationScorer

NAME = "NodeResourcesBalancedAllocation"


def _fraction(requested: int, allocatable: int) -> float:
    if allocatable <= 0:
        return 1.0
    return min(1.0, requested / allocatable)


def _fractions(requested: IntArray, allocatable: IntArray) -> npt.NDArray[np.float64]:
    """`_fraction` element-wise (the same IEEE divisions, so the same results)."""
    positive = allocatable > 0
    share = np.divide(
        requested, allocatable, out=np.ones(len(requested), np.float64), where=positive
    )
    out: npt.NDArray[np.float64] = np.minimum(share, 1.0)
    return out


@framework.register(NAME)
class BalancedAllocation(ResourceAllocationScorer):
    """(1 - standard deviation of the cpu and memory fractions) * 100, as Kubernetes does."""

    name = NAME
    weight = 1
    use_requested = True

    def resource_score(self, cpu: int, alloc_cpu: int, memory: int, alloc_memory: int) -> int:
        """100 when both fractions are equal after placing the pod."""
        # The standard deviation of two values is half their distance.
        std = abs(_fraction(cpu, alloc_cpu) - _fraction(memory, alloc_memory)) / 2
        return int((1 - std) * framework.MAX_NODE_SCORE)

    def resource_scores(
        self, cpu: IntArray, alloc_cpu: IntArray, memory: IntArray, alloc_memory: IntArray
    ) -> IntArray:
        """`resource_score` element-wise."""
        std = np.abs(_fractions(cpu, alloc_cpu) - _fractions(memory, alloc_memory)) / 2
        scores: IntArray = ((1 - std) * framework.MAX_NODE_SCORE).astype(np.int64)
        return scores

"""BalancedAllocation: prefer nodes whose cpu and memory use stay in proportion."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from master.scheduler.framework import (
    MAX_NODE_SCORE,
    CycleState,
    NodeInfo,
    PodInfo,
    register,
)
from master.scheduler.nodetable import IntArray, NodeTable

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


@register(NAME)
class BalancedAllocation:
    """(1 - standard deviation of the cpu and memory fractions) * 100, as Kubernetes does."""

    name = NAME
    weight = 1

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        """100 when both fractions are equal after placing the pod."""
        cpu = _fraction(
            node.non_zero_requested.milli_cpu + pod.non_zero_requests.milli_cpu,
            node.allocatable.milli_cpu,
        )
        mem = _fraction(
            node.non_zero_requested.memory + pod.non_zero_requests.memory,
            node.allocatable.memory,
        )
        # The standard deviation of two values is half their distance.
        std = abs(cpu - mem) / 2
        return int((1 - std) * MAX_NODE_SCORE)

    def score_batch(
        self, state: CycleState, pod: PodInfo, table: NodeTable, rows: IntArray
    ) -> IntArray:
        """`score` for the nodes of `rows`, as arrays."""
        want = pod.non_zero_requests
        cpu = _fractions(table.non_zero_cpu[rows] + want.milli_cpu, table.alloc_cpu[rows])
        mem = _fractions(table.non_zero_memory[rows] + want.memory, table.alloc_memory[rows])
        std = np.abs(cpu - mem) / 2
        scores: IntArray = ((1 - std) * MAX_NODE_SCORE).astype(np.int64)
        return scores

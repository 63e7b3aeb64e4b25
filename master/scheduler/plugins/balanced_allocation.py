"""BalancedAllocation: prefer nodes whose cpu and memory use stay in proportion."""

from __future__ import annotations

from master.scheduler.framework import (
    MAX_NODE_SCORE,
    CycleState,
    NodeInfo,
    PodInfo,
    register,
)

NAME = "NodeResourcesBalancedAllocation"


def _fraction(requested: int, allocatable: int) -> float:
    if allocatable <= 0:
        return 1.0
    return min(1.0, requested / allocatable)


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

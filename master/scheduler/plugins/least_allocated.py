"""LeastAllocated: prefer the node with the most free cpu and memory after placing the pod."""

from __future__ import annotations

from master.scheduler.framework import (
    MAX_NODE_SCORE,
    CycleState,
    NodeInfo,
    PodInfo,
    register,
)

NAME = "NodeResourcesLeastAllocated"


def _free_share(requested: int, allocatable: int) -> int:
    if allocatable <= 0 or requested > allocatable:
        return 0
    return (allocatable - requested) * MAX_NODE_SCORE // allocatable


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

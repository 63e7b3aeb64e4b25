"""LeastAllocated and BalancedAllocation scores."""

from __future__ import annotations

import pytest

from master.scheduler.framework import CycleState, PodInfo
from master.scheduler.plugins.balanced_allocation import BalancedAllocation
from master.scheduler.plugins.least_allocated import LeastAllocated
from tests.unit.scheduler.builders import node, node_info, pod


@pytest.mark.parametrize(
    ("existing", "incoming", "expected"),
    [
        pytest.param(
            [], {"cpu": "1", "memory": "1Gi"}, (75 + 87) // 2, id="quarter-cpu-eighth-mem"
        ),
        pytest.param([{"cpu": "3", "memory": "7Gi"}], {"cpu": "1", "memory": "1Gi"}, 0, id="full"),
        pytest.param([], {"cpu": "8", "memory": "1Gi"}, (0 + 87) // 2, id="over-cpu-counts-zero"),
        pytest.param(
            [],
            {},
            ((4000 - 100) * 100 // 4000 + (8192 - 200) * 100 // 8192) // 2,
            id="request-less-pod-counts-defaults",
        ),
    ],
)
def test_least_allocated(existing, incoming, expected):
    n = node_info(
        node("n", cpu="4", memory="8Gi"), *(pod(f"e{i}", **e) for i, e in enumerate(existing))
    )
    assert LeastAllocated().score(CycleState(), PodInfo.of(pod("p", **incoming)), n) == expected


def test_least_allocated_prefers_the_emptier_node():
    busy = node_info(node("busy"), pod("e", cpu="2", memory="4Gi"))
    idle = node_info(node("idle"))
    p = PodInfo.of(pod("p", cpu="1", memory="1Gi"))
    assert LeastAllocated().score(CycleState(), p, idle) > LeastAllocated().score(
        CycleState(), p, busy
    )


@pytest.mark.parametrize(
    ("incoming", "expected"),
    [
        pytest.param({"cpu": "2", "memory": "4Gi"}, 100, id="equal-fractions-perfect"),
        pytest.param({"cpu": "4", "memory": "0.8Gi"}, 55, id="cpu-heavy-unbalanced"),
        pytest.param({"cpu": "1", "memory": "8Gi"}, 62, id="memory-heavy-unbalanced"),
    ],
)
def test_balanced_allocation(incoming, expected):
    n = node_info(node("n", cpu="4", memory="8Gi"))
    assert BalancedAllocation().score(CycleState(), PodInfo.of(pod("p", **incoming)), n) == expected

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


def test_balanced_allocation_weighs_actual_requests_not_the_scoring_defaults():
    # Neither pod asks for anything: by its requests the node stays perfectly balanced
    # (nothing used), though the 100m / 200Mi defaults would tip it toward memory.
    n = node_info(node("n", cpu="1", memory="1Gi"), pod("e"))
    assert BalancedAllocation().score(CycleState(), PodInfo.of(pod("p")), n) == 100


def test_balanced_allocation_counts_what_bound_pods_request():
    cpu_heavy = node_info(node("cpu-heavy", cpu="4", memory="8Gi"), pod("e", cpu="2"))
    even = node_info(node("even", cpu="4", memory="8Gi"), pod("e", cpu="2", memory="4Gi"))
    p = PodInfo.of(pod("p"))
    assert BalancedAllocation().score(CycleState(), p, even) == 100
    assert BalancedAllocation().score(CycleState(), p, cpu_heavy) == 75

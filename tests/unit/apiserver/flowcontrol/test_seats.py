"""Seat limits: Kubernetes 1.32's nominal shares, lending and borrowing."""

from __future__ import annotations

import pytest

from master.apiserver.flowcontrol.model import PriorityLevel, Queuing
from master.apiserver.flowcontrol.seats import (
    AllocationItem,
    Demand,
    DemandIntegrator,
    LevelDemand,
    SeatLimits,
    allocate,
    configured_limits,
    current_limits,
    go_round,
    smoothed,
)

QUEUED = Queuing(64, 6, 50)

KUBERNETES_SUGGESTED = [
    PriorityLevel("exempt", exempt=True, nominal_concurrency_shares=0),
    PriorityLevel("catch-all", nominal_concurrency_shares=5),
    PriorityLevel(
        "global-default", nominal_concurrency_shares=20, lendable_percent=50, queuing=QUEUED
    ),
    PriorityLevel("leader-election", nominal_concurrency_shares=10, queuing=QUEUED),
    PriorityLevel("node-high", nominal_concurrency_shares=40, lendable_percent=25, queuing=QUEUED),
    PriorityLevel("system", nominal_concurrency_shares=30, lendable_percent=33, queuing=QUEUED),
    PriorityLevel(
        "workload-high", nominal_concurrency_shares=40, lendable_percent=50, queuing=QUEUED
    ),
    PriorityLevel(
        "workload-low", nominal_concurrency_shares=100, lendable_percent=90, queuing=QUEUED
    ),
]


def test_nominal_limits_are_kubernetes_numbers_for_its_suggested_levels() -> None:
    limits = configured_limits(600, KUBERNETES_SUGGESTED)
    nominal = {name: limit.nominal for name, limit in limits.items()}
    # What `apiserver_flowcontrol_nominal_limit_seats` shows on a kube-apiserver with
    # --max-requests-inflight=400 --max-mutating-requests-inflight=200.
    assert nominal == {
        "exempt": 0,
        "catch-all": 13,
        "global-default": 49,
        "leader-election": 25,
        "node-high": 98,
        "system": 74,
        "workload-high": 98,
        "workload-low": 245,
    }


BUILT_IN = [
    # master/apiserver/flowcontrol/bootstrap.py's levels (Kubernetes 1.32's mandatory
    # and suggested ones), with the same numbers.
    PriorityLevel("exempt", exempt=True, nominal_concurrency_shares=0, lendable_percent=0),
    PriorityLevel("catch-all", nominal_concurrency_shares=5, lendable_percent=0),
    PriorityLevel(
        "system", nominal_concurrency_shares=30, lendable_percent=33, queuing=Queuing(64, 6, 50)
    ),
    PriorityLevel(
        "node-high", nominal_concurrency_shares=40, lendable_percent=25, queuing=Queuing(64, 6, 50)
    ),
    PriorityLevel(
        "leader-election",
        nominal_concurrency_shares=10,
        lendable_percent=0,
        queuing=Queuing(16, 4, 50),
    ),
    PriorityLevel(
        "workload-high",
        nominal_concurrency_shares=40,
        lendable_percent=50,
        queuing=Queuing(128, 6, 50),
    ),
    PriorityLevel(
        "workload-low",
        nominal_concurrency_shares=100,
        lendable_percent=90,
        queuing=Queuing(128, 6, 50),
    ),
    PriorityLevel(
        "global-default",
        nominal_concurrency_shares=20,
        lendable_percent=50,
        queuing=Queuing(128, 6, 50),
    ),
]


def test_the_built_in_levels_get_kubernetes_limits_at_600_seats() -> None:
    limits = configured_limits(600, BUILT_IN)
    # Kubernetes' finishQueueSetReconfigsLocked (apf_controller.go), with the share sum
    # 0 + 5 + 30 + 40 + 10 + 40 + 100 + 20 = 245:
    #   nominal = int(math.Ceil(600 * shares / 245))
    #   lower   = nominal - int(math.Round(nominal * lendablePercent / 100))
    #   upper   = nominal + 600 (none of them has a borrowingLimitPercent)
    # Go's math.Round takes halves away from zero: node-high lends round(98 * 0.25 =
    # 24.5) = 25 and keeps 73, workload-low lends round(245 * 0.9 = 220.5) = 221 and
    # keeps 24, global-default lends round(49 * 0.5 = 24.5) = 25 and keeps 24; system
    # lends round(74 * 0.33 = 24.42) = 24 and keeps 50. These are the values of
    # apiserver_flowcontrol_{nominal,lower,upper}_limit_seats on a kube-apiserver with
    # --max-requests-inflight=400 --max-mutating-requests-inflight=200.
    nominal = {
        "exempt": 0,
        "catch-all": 13,
        "system": 74,
        "node-high": 98,
        "leader-election": 25,
        "workload-high": 98,
        "workload-low": 245,
        "global-default": 49,
    }
    lower = {
        "exempt": 0,
        "catch-all": 13,
        "system": 50,
        "node-high": 73,
        "leader-election": 25,
        "workload-high": 49,
        "workload-low": 24,
        "global-default": 24,
    }
    assert limits == {
        name: SeatLimits(nominal[name], lower[name], nominal[name] + 600) for name in nominal
    }


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (0.5, 1),
        (1.5, 2),
        (2.5, 3),
        (24.5, 25),
        (220.5, 221),
        (-2.5, -3),
        (2.4999999999999996, 2),
        (0.49999999999999994, 0),
        (7.0, 7),
        (-0.4, 0),
    ],
)
def test_go_round_takes_halves_away_from_zero_as_go_does(value: float, rounded: int) -> None:
    assert go_round(value) == rounded


def test_a_part_of_the_way_to_the_floors_rounds_halves_up_as_kubernetes_does() -> None:
    # One seat for two levels that each want one above a lower bound of 0: each gets
    # 0 + Round(1 * 0.5) = 1 in Kubernetes' updateBorrowingLocked (Python's round: 0).
    wanting = LevelDemand(SeatLimits(1, 0, 10), exempt=False, high_watermark=1, smoothed=1.0)
    adjustment = current_limits(1, {"a": wanting, "b": wanting})
    assert adjustment.current == {"a": 1, "b": 1}


def test_exempt_shares_count_in_the_sum() -> None:
    without = configured_limits(100, [PriorityLevel("a", nominal_concurrency_shares=10)])
    with_exempt = configured_limits(
        100,
        [
            PriorityLevel("a", nominal_concurrency_shares=10),
            PriorityLevel("exempt", exempt=True, nominal_concurrency_shares=10),
        ],
    )
    assert without["a"].nominal == 100
    assert with_exempt["a"].nominal == 50


def test_nominal_limits_round_up() -> None:
    limits = configured_limits(
        10, [PriorityLevel(n, nominal_concurrency_shares=1) for n in ("a", "b", "c")]
    )
    assert [limit.nominal for limit in limits.values()] == [4, 4, 4]


def test_lower_and_upper_limits_come_from_lendable_and_borrowing_percentages() -> None:
    limits = configured_limits(
        100,
        [
            PriorityLevel(
                "a", nominal_concurrency_shares=1, lendable_percent=25, borrowing_limit_percent=50
            ),
            PriorityLevel("b", nominal_concurrency_shares=1),
        ],
    )
    # 25% of 50 is 12.5 lendable seats, which Go's math.Round makes 13.
    assert limits["a"] == SeatLimits(nominal=50, lower=37, upper=75)
    assert limits["b"] == SeatLimits(nominal=50, lower=50, upper=150)


def test_the_integrator_gives_time_weighted_average_deviation_and_high_watermark() -> None:
    now = [0.0]
    integrator = DemandIntegrator(lambda: now[0])
    integrator.set(2)
    now[0] = 5.0
    integrator.set(4)
    now[0] = 10.0
    demand = integrator.reset()
    assert demand == Demand(average=3.0, deviation=1.0, high_watermark=4, duration=10.0)
    now[0] = 20.0
    assert integrator.reset() == Demand(4.0, 0.0, 4, 10.0)


def test_smoothed_demand_rises_at_once_and_decays_slowly() -> None:
    assert smoothed(1.0, Demand(10.0, 2.0, 12, 10.0)) == 12.0
    decayed = smoothed(12.0, Demand(0.0, 0.0, 0, 10.0))
    assert 11.0 < decayed < 12.0


def test_allocation_is_proportional_to_targets_within_bounds() -> None:
    allocations, fair = allocate(30, [AllocationItem(10, 0, 100), AllocationItem(20, 0, 100)])
    assert allocations == pytest.approx([10, 20])
    assert fair == pytest.approx(1.0)
    bounded, _ = allocate(30, [AllocationItem(10, 0, 5), AllocationItem(10, 0, 100)])
    assert bounded == pytest.approx([5, 25])
    floored, _ = allocate(30, [AllocationItem(1, 12, 100), AllocationItem(1, 0, 100)])
    assert floored == pytest.approx([15, 15])
    floored, _ = allocate(30, [AllocationItem(1, 20, 100), AllocationItem(1, 0, 100)])
    assert floored == pytest.approx([20, 10])


def test_a_busy_level_borrows_what_an_idle_level_lends() -> None:
    busy = LevelDemand(SeatLimits(10, 5, 30), exempt=False, high_watermark=25, smoothed=25.0)
    idle = LevelDemand(SeatLimits(10, 5, 30), exempt=False, high_watermark=0, smoothed=0.0)
    adjustment = current_limits(20, {"busy": busy, "idle": idle})
    assert adjustment.current == {"busy": 15, "idle": 5}


def test_a_level_that_lends_nothing_keeps_its_nominal_limit() -> None:
    busy = LevelDemand(SeatLimits(10, 5, 30), exempt=False, high_watermark=25, smoothed=25.0)
    keeper = LevelDemand(SeatLimits(10, 10, 30), exempt=False, high_watermark=0, smoothed=0.0)
    adjustment = current_limits(20, {"busy": busy, "keeper": keeper})
    assert adjustment.current == {"busy": 10, "keeper": 10}


def test_seats_the_exempt_level_used_squeeze_the_others_to_their_lower_bounds() -> None:
    exempt = LevelDemand(SeatLimits(0, 0, 20), exempt=True, high_watermark=15, smoothed=15.0)
    a = LevelDemand(SeatLimits(10, 5, 30), exempt=False, high_watermark=10, smoothed=10.0)
    b = LevelDemand(SeatLimits(10, 5, 30), exempt=False, high_watermark=10, smoothed=10.0)
    adjustment = current_limits(20, {"exempt": exempt, "a": a, "b": b})
    assert adjustment.current == {"exempt": 15, "a": 5, "b": 5}

"""The HPA's arithmetic (master/controllers/replica_calculator.py), table by table, against
the cases of Kubernetes' replica_calculator_test.go and horizontal_test.go it follows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from client import autoscaling
from client.timestamps import format_time
from master.controllers import replica_calculator as rc
from proto import autoscaling_pb2, core_pb2, meta_pb2

NOW = 1_800_000_000.0
LONG_AGO = NOW - 3600  # started past the cpu initialization period


def _at(seconds: float) -> str:
    return format_time(datetime.fromtimestamp(seconds, UTC))


def pod(
    name: str,
    request: str = "100m",
    *,
    phase: str = "Running",
    ready: str = "True",
    started: float = LONG_AGO,
    ready_since: float = LONG_AGO,
    deleting: bool = False,
) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name = name
    if deleting:
        p.metadata.deletion_timestamp = _at(NOW)
    p.status.phase = phase
    p.status.start_time = _at(started)
    p.status.conditions.append(
        meta_pb2.Condition(type="Ready", status=ready, last_transition_time=_at(ready_since))
    )
    c = p.spec.containers.add(name="main")
    if request:
        c.resources.requests["cpu"] = request
        c.resources.requests["memory"] = request
    return p


def usage(**millis: int) -> dict[str, rc.PodMetric]:
    return {name: rc.PodMetric(value, NOW - 1, 15.0) for name, value in millis.items()}


@dataclass
class Case:
    current: int
    pods: list[core_pb2.Pod]
    metrics: dict[str, rc.PodMetric]
    target: int
    expected: int
    utilization: int | None = None
    resource: str = "cpu"
    tuning: rc.Tuning = rc.DEFAULT_TUNING


UTILIZATION_CASES = {
    "usage at twice the target doubles the pods": Case(
        2, [pod("a"), pod("b")], usage(a=100, b=100), 50, 4, 100
    ),
    "usage at half the target halves them": Case(
        4, [pod(n) for n in "abcd"], usage(a=25, b=25, c=25, d=25), 50, 2, 25
    ),
    "within the 10 % tolerance nothing changes": Case(
        3, [pod(n) for n in "abc"], usage(a=54, b=54, c=54), 50, 3, 54
    ),
    "just outside the tolerance it scales": Case(
        3, [pod(n) for n in "abc"], usage(a=56, b=56, c=56), 50, 4, 56
    ),
    "missing metrics count as 100 % when scaling down": Case(
        # a and b at 10 % want 1 pod; c without metrics at 100 % brings the ratio to
        # (10+10+100)/3/50 = 0.8: 3 pods x 0.8 -> 3, no change in direction, so 3.
        3,
        [pod("a"), pod("b"), pod("c")],
        usage(a=10, b=10),
        50,
        3,
        10,
    ),
    "missing metrics count as 0 % when scaling up": Case(
        # c counts as 0: (100+100+0)/3 = 66 % of 50 -> ceil(1.33 x 3) = 4.
        3,
        [pod("a"), pod("b"), pod("c")],
        usage(a=100, b=100),
        50,
        4,
        100,
    ),
    "unready pods count as 0 % when scaling up": Case(
        3, [pod("a"), pod("b"), pod("c", ready="False")], usage(a=100, b=100, c=100), 50, 4, 100
    ),
    "unready pods are left out when scaling down": Case(
        3, [pod("a"), pod("b"), pod("c", ready="False")], usage(a=10, b=10, c=100), 50, 1, 10
    ),
    "pending pods count as unready": Case(
        3, [pod("a"), pod("b"), pod("c", phase="Pending")], usage(a=100, b=100), 50, 4, 100
    ),
    "pods being deleted and failed pods are ignored": Case(
        2,
        [pod("a"), pod("b"), pod("c", deleting=True), pod("d", phase="Failed")],
        usage(a=100, b=100, c=0, d=0),
        50,
        4,
        100,
    ),
    "a starting pod without a full window since ready holds a scale-up back": Case(
        2,
        [pod("a"), pod("b", started=NOW - 5, ready_since=NOW - 5)],
        usage(a=100, b=500),
        50,
        # b's 500 is left out (a alone: 100 %, twice the target) and b then counts as 0 %
        # for the scale-up: (100+0)/2 = 50 % is the target, so nothing changes.
        2,
        100,
    ),
    "memory ignores readiness: an unready pod's sample counts": Case(
        2, [pod("a"), pod("b", ready="False")], usage(a=100, b=100), 50, 4, 100, "memory"
    ),
    "scale-down with missing pods that would turn into a scale-up keeps the count": Case(
        2, [pod("a"), pod("b", request="1")], usage(a=40), 50, 2, 40
    ),
}


@pytest.mark.parametrize("case", UTILIZATION_CASES.values(), ids=UTILIZATION_CASES.keys())
def test_utilization_targets_give_kubernetes_counts(case: Case) -> None:
    got = rc.resource_replicas(
        case.current, case.target, case.resource, case.pods, case.metrics, NOW, tuning=case.tuning
    )
    assert got.replicas == case.expected
    if case.utilization is not None:
        assert got.utilization == case.utilization


AVERAGE_CASES = {
    "average value at twice the target doubles": Case(
        2, [pod("a"), pod("b")], usage(a=200, b=200), 100, 4
    ),
    "average value within tolerance keeps the count": Case(
        2, [pod("a"), pod("b")], usage(a=105, b=105), 100, 2
    ),
    "missing pods take the target on a scale-down": Case(
        # c counts as 100: (10+10+100)/3 = 40 of 100 -> ceil(0.4 x 3) = 2 (not 1).
        3,
        [pod("a"), pod("b"), pod("c")],
        usage(a=10, b=10),
        100,
        2,
    ),
}


@pytest.mark.parametrize("case", AVERAGE_CASES.values(), ids=AVERAGE_CASES.keys())
def test_average_value_targets_give_kubernetes_counts(case: Case) -> None:
    got = rc.raw_resource_replicas(case.current, case.target, "cpu", case.pods, case.metrics, NOW)
    assert got.replicas == case.expected


@pytest.mark.parametrize(
    ("pods", "metrics", "message"),
    [
        ([], {}, "no pods returned by selector"),
        ([pod("a")], {}, "did not receive metrics for targeted pods"),
        ([pod("a", request="")], usage(a=10), "missing request for cpu in container main"),
    ],
    ids=["no pods", "no metrics at all", "a container without a request"],
)
def test_a_metric_that_cannot_give_a_count_says_why(pods, metrics, message) -> None:
    with pytest.raises(rc.MetricsError, match=message):
        rc.resource_replicas(1, 50, "cpu", pods, metrics, NOW)


# ---- behavior ----


def behavior(
    down_window: int = 300, up_window: int = 0, **rules: list[tuple[str, int, int]]
) -> autoscaling_pb2.HorizontalPodAutoscalerBehavior:
    b = autoscaling_pb2.HorizontalPodAutoscalerBehavior()
    autoscaling.fill_rules(b.scale_up, autoscaling.scale_up_defaults())
    autoscaling.fill_rules(b.scale_down, autoscaling.scale_down_defaults())
    b.scale_up.stabilization_window_seconds = up_window
    b.scale_down.stabilization_window_seconds = down_window
    for direction in ("up", "down"):
        if direction in rules:
            target = b.scale_up if direction == "up" else b.scale_down
            del target.policies[:]
            for kind, value, period in rules[direction]:
                target.policies.add(type=kind, value=value, period_seconds=period)
    return b


def test_the_scale_down_window_keeps_the_highest_recent_recommendation() -> None:
    h = rc.History()
    h.record_initial(5, NOW)
    got, reason, _ = h.stabilize(2, 5, 0, 60, NOW + 10)
    assert (got, reason) == (5, "ScaleDownStabilized")
    got, _, _ = h.stabilize(2, 5, 0, 60, NOW + 30)
    assert got == 5
    # Once the initial 5 is older than the window, the highest left is 2.
    got, _, _ = h.stabilize(2, 5, 0, 60, NOW + 61)
    assert got == 2


def test_the_scale_up_window_keeps_the_lowest_recent_recommendation() -> None:
    h = rc.History()
    h.record_initial(2, NOW)
    got, reason, _ = h.stabilize(6, 2, 30, 0, NOW + 5)
    assert (got, reason) == (2, "ScaleUpStabilized")
    got, _, _ = h.stabilize(6, 2, 30, 0, NOW + 40)
    assert got == 6


def test_without_a_behavior_only_a_scale_down_is_stabilized() -> None:
    h = rc.History()
    h.record_initial(4, NOW)
    assert h.stabilize_down(1, 300, NOW + 1) == 4
    assert h.stabilize_down(8, 300, NOW + 2) == 8
    assert h.stabilize_down(1, 300, NOW + 400) == 1


@pytest.mark.parametrize(
    ("rules", "current", "desired", "expected", "reason"),
    [
        # The defaults: 4 pods or 100 % per 15 s, whichever is more.
        (behavior(), 1, 20, 5, "ScaleUpLimit"),
        (behavior(), 10, 50, 20, "ScaleUpLimit"),
        (behavior(up=[("Pods", 2, 60)]), 3, 10, 5, "ScaleUpLimit"),
        (behavior(up=[("Pods", 2, 60), ("Percent", 100, 60)]), 3, 10, 6, "ScaleUpLimit"),
        (behavior(down=[("Percent", 50, 60)]), 10, 1, 5, "ScaleDownLimit"),
        (behavior(down=[("Pods", 1, 60)]), 10, 1, 9, "ScaleDownLimit"),
        (behavior(), 25, 40, 30, "TooManyReplicas"),
        (behavior(), 5, 1, 2, "TooFewReplicas"),
        (behavior(), 3, 4, 4, "DesiredWithinRange"),
    ],
    ids=[
        "default scale-up from 1 is +4",
        "default scale-up from 10 is x2",
        "a Pods policy",
        "the Max of two policies",
        "a Percent scale-down",
        "a Pods scale-down",
        "maxReplicas",
        "minReplicas",
        "within range",
    ],
)
def test_rate_policies_and_bounds_limit_the_count(rules, current, desired, expected, reason):
    got, why, _ = rc.limit_by_rate(desired, current, 2, 30, rules, rc.History(), NOW)
    assert (got, why) == (expected, reason)


def test_the_min_policy_picks_the_smaller_change_and_disabled_none() -> None:
    rules = behavior(up=[("Pods", 2, 60), ("Percent", 100, 60)])
    rules.scale_up.select_policy = "Min"
    assert rc.limit_by_rate(10, 3, 1, 20, rules, rc.History(), NOW)[0] == 5
    rules.scale_up.select_policy = "Disabled"
    assert rc.limit_by_rate(10, 3, 1, 20, rules, rc.History(), NOW)[0] == 3


def test_scale_events_within_the_period_use_up_the_policy() -> None:
    rules = behavior(up=[("Pods", 2, 60)])
    h = rc.History()
    h.record_scale(rules, 3, 5, NOW)
    # 2 were added 10 s ago: the period started at 3, so 5 is already the limit.
    assert rc.limit_by_rate(10, 5, 1, 20, rules, h, NOW + 10)[0] == 5
    # After the period the policy allows 2 more.
    assert rc.limit_by_rate(10, 5, 1, 20, rules, h, NOW + 61)[0] == 7


def test_without_a_behavior_a_step_grows_to_at_most_twice_or_four() -> None:
    assert rc.limit_by_rules(20, 1, 1, 50)[:2] == (4, "ScaleUpLimit")
    assert rc.limit_by_rules(20, 5, 1, 50)[:2] == (10, "ScaleUpLimit")
    assert rc.limit_by_rules(20, 5, 1, 8)[:2] == (8, "TooManyReplicas")
    assert rc.limit_by_rules(0, 5, 2, 8)[:2] == (2, "TooFewReplicas")

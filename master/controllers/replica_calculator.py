"""The HorizontalPodAutoscaler's arithmetic, apart from any I/O so a table can test it.

It follows Kubernetes' podautoscaler package (replica_calculator.go and the behavior half of
horizontal.go) step for step, because users tune HPAs by Kubernetes' documentation:

- desired = ceil(ready pods x usage / target), unless usage/target is within the
  tolerance (10 %) of 1, when the count stays as it is;
- pods being deleted and failed pods are ignored; pending pods, and (for cpu) pods not
  ready or still starting, count as unready; pods with no metrics are missing;
- if there are missing pods, or unready ones while scaling up, the ratio is computed again
  with missing pods at 100 % of their request (the target, if higher) when scaling down and
  at 0 % when scaling up, and unready pods at 0 %; if that second ratio is within the
  tolerance or reverses the direction, nothing changes;
- the recommendation is then stabilized (the highest of the scale-down window's
  recommendations, the lowest of the scale-up window's) and limited by the behavior's
  rate policies (Pods or Percent per period, the Max or Min of them, or Disabled) and by
  minReplicas/maxReplicas, each limit named as Kubernetes names it for ScalingLimited.

Values are integers in milli-units for cpu and for memory alike (Kubernetes' MilliValue),
and times are Unix seconds from the caller's clock, so a test can move time by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from client import autoscaling
from client.quantity import parse_quantity
from client.timestamps import try_epoch
from proto import autoscaling_pb2, core_pb2

__all__ = [
    "DEFAULT_TUNING",
    "Calculation",
    "History",
    "MetricsError",
    "PodMetric",
    "Tuning",
    "group_pods",
    "limit_by_rate",
    "limit_by_rules",
    "raw_resource_replicas",
    "resource_replicas",
    "scale_down_limit",
    "scale_up_limit",
]

TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = 300.0
"""Seconds after a pod starts during which its cpu sample is trusted only once it is ready
and a whole window was measured since (--horizontal-pod-autoscaler-cpu-initialization-period)."""
INITIAL_READINESS_DELAY = 30.0
"""Seconds after start in which a pod that turned unready is taken as never ready yet
(--horizontal-pod-autoscaler-initial-readiness-delay)."""
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0
"""Without a `behavior`, one step grows to at most max(2 x current, 4) replicas."""


class MetricsError(Exception):
    """The metric cannot give a replica count now (no pods, no metrics, no request)."""


@dataclass(frozen=True)
class Tuning:
    """The controller manager's flags for the arithmetic, one value for every HPA (as
    Kubernetes' ReplicaCalculator holds them), so both kinds of target read the same."""

    tolerance: float = TOLERANCE
    cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD
    initial_readiness_delay: float = INITIAL_READINESS_DELAY


DEFAULT_TUNING = Tuning()


@dataclass(frozen=True)
class PodMetric:
    """One pod's usage of one resource, as the metrics API gave it."""

    value: int
    """Milli-units: millicores, or thousandths of a byte."""
    timestamp: float
    window: float


@dataclass(frozen=True)
class Calculation:
    """A metric's proposal and what it measured."""

    replicas: int
    utilization: int | None
    """Percent of the requests (Utilization targets)."""
    average: int
    """Average usage per pod, milli-units."""


def _ready_condition(pod: core_pb2.Pod) -> tuple[str, float | None] | None:
    for c in pod.status.conditions:
        if c.type == "Ready":
            return c.status, try_epoch(c.last_transition_time)
    return None


def group_pods(
    pods: Iterable[core_pb2.Pod],
    metrics: Mapping[str, PodMetric],
    resource: str,
    now: float,
    *,
    cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
    initial_readiness_delay: float = INITIAL_READINESS_DELAY,
) -> tuple[int, set[str], set[str], set[str]]:
    """(ready count, unready, missing, ignored) names, as Kubernetes' groupPods."""
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        name = pod.metadata.name
        if pod.metadata.deletion_timestamp or pod.status.phase == "Failed":
            ignored.add(name)
            continue
        if pod.status.phase == "Pending":
            unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            missing.add(name)
            continue
        if resource == "cpu":
            condition = _ready_condition(pod)
            started = try_epoch(pod.status.start_time) if pod.status.start_time else None
            if condition is None or started is None:
                is_unready = True
            else:
                status, changed = condition
                changed = changed if changed is not None else started
                if started + cpu_initialization_period > now:
                    # Still starting: trust the sample only once ready for a whole window.
                    is_unready = status == "False" or metric.timestamp < changed + metric.window
                else:
                    # Unready and never ready since its start: ignore its sample.
                    is_unready = status == "False" and started + initial_readiness_delay > changed
            if is_unready:
                unready.add(name)
                continue
        ready += 1
    return ready, unready, missing, ignored


def pod_requests(pods: Iterable[core_pb2.Pod], resource: str) -> dict[str, int]:
    """Each pod's request of `resource` (sum of its containers), milli-units."""
    found: dict[str, int] = {}
    for pod in pods:
        total = 0
        for c in pod.spec.containers:
            text = c.resources.requests.get(resource, "")
            if not text:
                raise MetricsError(
                    f"missing request for {resource} in container {c.name} of Pod "
                    f"{pod.metadata.name}"
                )
            total += math.ceil(parse_quantity(text) * 1000)
        found[pod.metadata.name] = total
    return found


def utilization_ratio(
    metrics: Mapping[str, int], requests: Mapping[str, int], target: int
) -> tuple[float, int, int]:
    """(usage / target, utilization %, average milli-usage) over the pods with a request."""
    total = requested = entries = 0
    for name, value in metrics.items():
        if name not in requests:
            continue
        total += value
        requested += requests[name]
        entries += 1
    if requested == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = total * 100 // requested
    return utilization / target, utilization, total // entries


def _ratio_changes_nothing(old: float, new: float, tolerance: float) -> bool:
    return abs(1.0 - new) <= tolerance or (old < 1.0 < new) or (old > 1.0 > new)


@dataclass(frozen=True)
class _Samples:
    """A metric's pods sorted as groupPods sorts them, and the samples that count."""

    ready: int
    unready: set[str]
    missing: set[str]
    values: dict[str, int]
    """Milli-usage of the ready pods with metrics (ignored and unready ones left out)."""


def _usable(
    pods: list[core_pb2.Pod],
    metrics: Mapping[str, PodMetric],
    resource: str,
    now: float,
    tuning: Tuning,
) -> _Samples:
    """A metric's samples after groupPods; MetricsError when the selector found no pods or
    no ready pod has a sample."""
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    ready, unready, missing, ignored = group_pods(
        pods,
        metrics,
        resource,
        now,
        cpu_initialization_period=tuning.cpu_initialization_period,
        initial_readiness_delay=tuning.initial_readiness_delay,
    )
    known = {p.metadata.name for p in pods}
    values = {
        n: m.value
        for n, m in metrics.items()
        if n in known and n not in ignored and n not in unready
    }
    if not values:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    return _Samples(ready, unready, missing, values)


def _replica_count(
    current: int,
    samples: _Samples,
    ratio: float,
    missing_at: Mapping[str, int],
    ratio_of: Callable[[Mapping[str, int]], float],
    *,
    tolerance: float,
    keep_direction: bool,
) -> int:
    """The step GetResourceReplicas and calcPlainMetricReplicas share, from the ready pods'
    usage-to-target `ratio`: with no missing pods and no unready ones while scaling up,
    ready x ratio (or the current count within the tolerance); otherwise the ratio again
    with the missing pods at `missing_at` and unready pods (scaling up) at 0, the current
    count kept if that ratio is within the tolerance or turns the direction.
    `keep_direction` also keeps it when the new count moves against the new ratio, which
    only the Utilization path checks."""
    up_with_unready = bool(samples.unready) and ratio > 1.0
    if not up_with_unready and not missing_at:
        if abs(1.0 - ratio) <= tolerance:
            return current
        return math.ceil(ratio * samples.ready)
    corrected = {**samples.values, **missing_at}
    if up_with_unready:
        corrected.update(dict.fromkeys(samples.unready, 0))
    new_ratio = ratio_of(corrected)
    if _ratio_changes_nothing(ratio, new_ratio, tolerance):
        return current
    replicas = math.ceil(new_ratio * len(corrected))
    if keep_direction and (
        (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current)
    ):
        return current
    return replicas


def resource_replicas(
    current: int,
    target_utilization: int,
    resource: str,
    pods: list[core_pb2.Pod],
    metrics: Mapping[str, PodMetric],
    now: float,
    *,
    tuning: Tuning = DEFAULT_TUNING,
) -> Calculation:
    """GetResourceReplicas: the count for a Utilization target."""
    # Requests first, as Kubernetes reads them: a missing request is reported before
    # missing metrics (with no pods there is no request to miss).
    requests = pod_requests(pods, resource)
    samples = _usable(pods, metrics, resource, now, tuning)
    ratio, utilization, average = utilization_ratio(samples.values, requests, target_utilization)
    if ratio < 1.0:
        # Scaling down: a missing pod counts as using its whole request (or the target, if
        # higher), so that its absence cannot make the workload look idle.
        fallback = max(100, target_utilization)
        missing_at = {name: requests[name] * fallback // 100 for name in samples.missing}
    elif ratio > 1.0:
        missing_at = dict.fromkeys(samples.missing, 0)
    else:
        missing_at = {}
    replicas = _replica_count(
        current,
        samples,
        ratio,
        missing_at,
        lambda found: utilization_ratio(found, requests, target_utilization)[0],
        tolerance=tuning.tolerance,
        keep_direction=True,
    )
    return Calculation(replicas, utilization, average)


def raw_resource_replicas(
    current: int,
    target_value: int,
    resource: str,
    pods: list[core_pb2.Pod],
    metrics: Mapping[str, PodMetric],
    now: float,
    *,
    tuning: Tuning = DEFAULT_TUNING,
) -> Calculation:
    """GetRawResourceReplicas (calcPlainMetricReplicas): the count for an AverageValue
    target, in milli-units per pod."""
    samples = _usable(pods, metrics, resource, now, tuning)

    def average_of(found: Mapping[str, int]) -> int:
        return sum(found.values()) // len(found)

    average = average_of(samples.values)
    ratio = average / target_value
    replicas = _replica_count(
        current,
        samples,
        ratio,
        dict.fromkeys(samples.missing, target_value if ratio < 1.0 else 0),
        lambda found: average_of(found) / target_value,
        tolerance=tuning.tolerance,
        keep_direction=False,
    )
    return Calculation(replicas, None, average)


# ---- behavior: stabilization and rate limits ----


@dataclass
class ScaleEvent:
    change: int
    at: float


@dataclass
class History:
    """What one HPA's controller remembers between syncs (Kubernetes keeps it in memory
    too: a new controller manager leader starts with none)."""

    recommendations: list[tuple[int, float]] = field(default_factory=list)
    up_events: list[ScaleEvent] = field(default_factory=list)
    down_events: list[ScaleEvent] = field(default_factory=list)

    def record_initial(self, current: int, now: float) -> None:
        """The current count counts as a recommendation made now (recordInitialRecommendation),
        so that an HPA that just started does not scale down at once."""
        if not self.recommendations:
            self.recommendations.append((current, now))

    def stabilize_down(self, desired: int, window: float, now: float) -> int:
        """Without a behavior: the highest recommendation of the scale-down window."""
        cutoff = now - window
        highest = desired
        kept = [(r, at) for r, at in self.recommendations if at >= cutoff]
        for recommendation, _ in kept:
            highest = max(highest, recommendation)
        self.recommendations = [*kept, (desired, now)]
        return highest

    def stabilize(
        self, desired: int, current: int, up_window: float, down_window: float, now: float
    ) -> tuple[int, str, str]:
        """With a behavior: within the lowest recommendation of the scale-up window and the
        highest of the scale-down window (stabilizeRecommendationWithBehaviors)."""
        up_cutoff, down_cutoff = now - up_window, now - down_window
        up, down = desired, desired
        for recommendation, at in self.recommendations:
            if at > up_cutoff:
                up = min(up, recommendation)
            if at > down_cutoff:
                down = max(down, recommendation)
        result = min(max(current, up), down)
        oldest = min(up_cutoff, down_cutoff)
        self.recommendations = [(r, at) for r, at in self.recommendations if at >= oldest]
        self.recommendations.append((desired, now))
        if desired >= current:
            return (
                result,
                "ScaleUpStabilized",
                "recent recommendations were lower than current one, applying the lowest "
                "recent recommendation",
            )
        return (
            result,
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest "
            "recent recommendation",
        )

    def record_scale(
        self, behavior: autoscaling_pb2.HorizontalPodAutoscalerBehavior | None,
        before: int, after: int, now: float,
    ) -> None:  # fmt: skip
        """storeScaleEvent: remember a rescale for the rate policies (only with a behavior);
        events older than the longest policy period are dropped."""
        if behavior is None or before == after:
            return
        rules = behavior.scale_up if after > before else behavior.scale_down
        events = self.up_events if after > before else self.down_events
        longest = max((p.period_seconds for p in rules.policies), default=0)
        events[:] = [e for e in events if e.at > now - longest]
        events.append(ScaleEvent(abs(after - before), now))


def _changed_within(period: int, events: Iterable[ScaleEvent], now: float) -> int:
    cutoff = now - period
    return sum(e.change for e in events if e.at > cutoff)


def _period_start(
    current: int,
    policy: autoscaling_pb2.HPAScalingPolicy,
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
    now: float,
) -> int:
    """The count at the start of the policy's period: now, less what was added since, plus
    what was removed since."""
    period = policy.period_seconds
    return (
        current
        - _changed_within(period, up_events, now)
        + _changed_within(period, down_events, now)
    )


def scale_up_limit(
    current: int,
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
    rules: autoscaling_pb2.HPAScalingRules,
    now: float,
) -> int:
    """calculateScaleUpLimitWithScalingRules: the most replicas the policies allow now."""
    if rules.select_policy == autoscaling.DISABLED:
        return current
    pick, result = (min, 2**31 - 1) if rules.select_policy == autoscaling.MIN else (max, -(2**31))
    for policy in rules.policies:
        start = _period_start(current, policy, up_events, down_events, now)
        if policy.type == autoscaling.PODS:
            proposed = start + policy.value
        else:
            proposed = math.ceil(start * (1 + policy.value / 100))
        result = pick(result, proposed)
    return result


def scale_down_limit(
    current: int,
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
    rules: autoscaling_pb2.HPAScalingRules,
    now: float,
) -> int:
    """calculateScaleDownLimitWithBehaviors: the fewest replicas the policies allow now."""
    if rules.select_policy == autoscaling.DISABLED:
        return current
    pick, result = (max, -(2**31)) if rules.select_policy == autoscaling.MIN else (min, 2**31 - 1)
    for policy in rules.policies:
        start = _period_start(current, policy, up_events, down_events, now)
        if policy.type == autoscaling.PODS:
            proposed = start - policy.value
        else:
            proposed = int(start * (1 - policy.value / 100))
        result = pick(result, proposed)
    return result


_SCALE_UP_LIMIT = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
)
_TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
_SCALE_DOWN_LIMIT = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
)
_TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
_WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")


def _upper_bound(rate_limit: int, maximum: int) -> tuple[int, str, str]:
    """The lower of the rate's limit and maxReplicas, with ScalingLimited's reason for it."""
    if maximum > rate_limit:
        return (rate_limit, *_SCALE_UP_LIMIT)
    return (maximum, *_TOO_MANY)


def _lower_bound(rate_limit: int, minimum: int) -> tuple[int, str, str]:
    """The higher of the rate's limit and minReplicas, with ScalingLimited's reason for it."""
    if minimum < rate_limit:
        return (rate_limit, *_SCALE_DOWN_LIMIT)
    return (minimum, *_TOO_FEW)


def limit_by_rate(
    desired: int,
    current: int,
    minimum: int,
    maximum: int,
    behavior: autoscaling_pb2.HorizontalPodAutoscalerBehavior,
    history: History,
    now: float,
) -> tuple[int, str, str]:
    """convertDesiredReplicasWithBehaviorRate: the count within the rate policies and the
    bounds, with ScalingLimited's reason and message."""
    if desired > current:
        up = scale_up_limit(current, history.up_events, history.down_events, behavior.scale_up, now)
        allowed, reason, message = _upper_bound(max(up, current), maximum)
        if desired > allowed:
            return allowed, reason, message
    elif desired < current:
        down = scale_down_limit(
            current, history.up_events, history.down_events, behavior.scale_down, now
        )
        allowed, reason, message = _lower_bound(min(down, current), minimum)
        if desired < allowed:
            return allowed, reason, message
    return (desired, *_WITHIN_RANGE)


def limit_by_rules(desired: int, current: int, minimum: int, maximum: int) -> tuple[int, str, str]:
    """convertDesiredReplicasWithRules (no behavior): bounds, and max(2 x current, 4)."""
    up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
    allowed, reason, message = _upper_bound(up_limit, maximum)
    if desired < minimum:
        return (minimum, *_TOO_FEW)
    if desired > allowed:
        return allowed, reason, message
    return (desired, *_WITHIN_RANGE)

"""HorizontalPodAutoscalers: every sync period, resize each target to its metrics.

One sync of an HPA follows Kubernetes' reconcileAutoscaler:
1. Read the target's `/scale` view (client/scale.py): any kind with spec.replicas and a
   selector. Failing that, AbleToScale=False (FailedGetScale).
2. A target scaled to 0 by hand has autoscaling off (ScalingActive=False,
   ScalingDisabled). A count outside [minReplicas, maxReplicas] is brought inside first.
3. Otherwise each metric proposes a count (replica_calculator.py) from the pods the
   scale's selector picks in the pod cache and their usage from the metrics API; the
   largest proposal wins. No usable metric: ScalingActive=False with the reason, and a
   Warning event, and nothing changes.
4. The proposal is stabilized and rate-limited (the `behavior`, or without one the older
   rules: the scale-down window and at most max(2 x current, 4)); AbleToScale and
   ScalingLimited say what held it back.
5. A new count is written through the scale view, guarded by the resourceVersion the view
   was read at, with a SuccessfulRescale event; the status (current and desired counts,
   the measured metrics, conditions, lastScaleTime) is written when it changed.

Each HPA is looked at again `horizontal_pod_autoscaler_sync_period` seconds after its last
sync (ControllerSettings; 15 s as Kubernetes' flag), and at once when it changes.
Recommendations and recent rescales are kept in memory per HPA, as in Kubernetes, so a new
leader starts without them (and then holds off scale-downs for one window).

Tests replace `clock` (Unix seconds) and `metrics_source` (a factory given the API client)
in this module, and shorten the period through the settings.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, Protocol

import structlog

from client import autoscaling, errors, kinds, selectors
from client.api import ApiClient
from client.informer import copy_object
from client.metricsapi import pod_metrics
from client.quantity import format_quantity, parse_quantity
from client.scale import Scale, get_scale, update_scale
from client.timeouts import within
from client.timestamps import format_time, try_epoch
from master.controllers import replica_calculator as rc
from master.controllers.base import Context, Controller
from proto import autoscaling_pb2, core_pb2, meta_pb2, metrics_pb2

__all__ = ["HorizontalController", "MetricsSource", "NodeStatsSource", "clock", "metrics_source"]

log = structlog.get_logger("controllers.horizontal")

STATS_TIMEOUT = 5.0
"""Seconds a node has to give its stats before its pods count as having no metrics."""
ABLE_TO_SCALE, SCALING_ACTIVE, SCALING_LIMITED = "AbleToScale", "ScalingActive", "ScalingLimited"


class MetricsSource(Protocol):
    """Where the controller reads pod usage: the resource metrics API."""

    async def pod_metrics(
        self, namespace: str, pods: Sequence[core_pb2.Pod]
    ) -> list[metrics_pb2.PodMetrics]:
        """The metrics of those of `pods` that have any."""
        ...


class NodeStatsSource:
    """The metrics API over the API servers' relay of the kubelets' `Stats` (the figures
    `tug top` and `kubectl top` show): one call per node that runs a pod of the target."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def _node(self, node: str) -> list[metrics_pb2.PodMetrics]:
        try:
            stats = await within(self.client.node_stats(node), STATS_TIMEOUT)
        except (errors.ApiError, TimeoutError) as e:
            log.info("no stats from node", key=f"nodes/{node}", error=str(e))
            return []
        return pod_metrics(stats) if stats.timestamp else []

    async def pod_metrics(
        self, namespace: str, pods: Sequence[core_pb2.Pod]
    ) -> list[metrics_pb2.PodMetrics]:
        wanted = {p.metadata.name for p in pods if p.metadata.namespace == namespace}
        nodes = sorted({p.spec.node_name for p in pods if p.spec.node_name})
        found = await asyncio.gather(*(self._node(n) for n in nodes))
        return [
            m
            for node_metrics in found
            for m in node_metrics
            if m.metadata.namespace == namespace and m.metadata.name in wanted and m.containers
        ]


def wall_clock() -> float:
    return time.time()


clock: Callable[[], float] = wall_clock
"""The controller's time in Unix seconds; tests set a clock of their own."""
metrics_source: Callable[[ApiClient], MetricsSource] = NodeStatsSource
"""How the controller reaches the metrics API; tests give a fake one."""


def _seconds(window: str) -> float:
    """A Go duration ("15s", "1m30.5s", "500ms") in seconds; 0 when it does not parse."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    i = 0
    while i < len(window):
        ch = window[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if window.startswith("ms", i) else ch
        if unit not in units or not number:
            return 0.0
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    return total


def usage_of(found: Sequence[metrics_pb2.PodMetrics], resource: str) -> dict[str, rc.PodMetric]:
    """Each pod's summed usage of `resource`, milli-units (Kubernetes' metrics client)."""
    usage: dict[str, rc.PodMetric] = {}
    for m in found:
        total = 0
        for c in m.containers:
            text = c.usage.get(resource, "")
            try:
                total += int(parse_quantity(text) * 1000) if text else 0
            except ValueError:
                continue
        usage[m.metadata.name] = rc.PodMetric(
            total, try_epoch(m.timestamp) or 0.0, _seconds(m.window)
        )
    return usage


def _set_condition(
    hpa: autoscaling_pb2.HorizontalPodAutoscaler, kind: str, status: str, reason: str, message: str
) -> None:
    """Set a condition; its transition time moves only when its status does."""
    for c in hpa.status.conditions:
        if c.type == kind:
            if c.status != status:
                c.last_transition_time = format_time(_now_datetime())
            c.status, c.reason, c.message = status, reason, message
            return
    hpa.status.conditions.append(
        meta_pb2.Condition(
            type=kind,
            status=status,
            reason=reason,
            message=message,
            last_transition_time=format_time(_now_datetime()),
        )
    )


def _now_datetime() -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def _metric_name(spec: autoscaling_pb2.MetricSpec) -> str:
    """How Kubernetes names a metric in conditions and events."""
    name = spec.resource.name
    if spec.resource.target.type == "Utilization" or spec.resource.target.HasField(
        "average_utilization"
    ):
        return f"{name} resource utilization (percentage of request)"
    return f"{name} resource"


class HorizontalController(Controller):
    """Resizes the targets of HorizontalPodAutoscalers to their pods' usage."""

    name = "horizontalpodautoscaling"
    component = "horizontal-pod-autoscaler"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.hpas = ctx.informers.get("horizontalpodautoscalers")
        self.pods = ctx.informers.get("pods")
        self.hpas.add_handler(
            on_add=self.enqueue,
            on_update=self._changed,
            on_delete=self._forget,
        )
        self.metrics = metrics_source(self.client)
        self.period = self.settings.horizontal_pod_autoscaler_sync_period
        self.history: dict[str, rc.History] = defaultdict(rc.History)

    def _changed(self, old: Any, new: Any) -> None:
        # Our own status writes come back as updates: only a spec change needs a sync now;
        # the periodic one covers the rest.
        if old.metadata.generation != new.metadata.generation:
            self.enqueue(new)

    def _forget(self, obj: Any) -> None:
        self.history.pop(kinds.key(obj), None)

    async def sync(self, key: str) -> None:
        cached = self.hpas.get(key, copy=False)
        if cached is None or cached.metadata.deletion_timestamp:
            self.history.pop(key, None)
            return
        hpa: autoscaling_pb2.HorizontalPodAutoscaler = copy_object(cached)
        before = copy_object(hpa)
        try:
            await self._reconcile(key, hpa)
        finally:
            # Whatever happened, look again after one period.
            self.queue.add_after(key, self.period)
            if hpa.status != before.status:
                try:
                    await self.client.update_status(hpa)
                except (errors.NotFound, errors.Conflict) as e:
                    log.info("status not written", key=key, error=str(e))

    # ---- one step ----

    async def _reconcile(self, key: str, hpa: autoscaling_pb2.HorizontalPodAutoscaler) -> None:
        spec = hpa.spec
        namespace = hpa.metadata.namespace
        ref = spec.scale_target_ref
        hpa.status.observed_generation = hpa.metadata.generation
        try:
            kind = kinds.by_kind(ref.api_version or "apps/v1", ref.kind)
            scale = await get_scale(self.client, kind.resource, namespace, ref.name)
        except (kinds.UnknownKindError, errors.ApiError) as e:
            message = f"the HPA controller was unable to get the target's current scale: {e}"
            _set_condition(hpa, ABLE_TO_SCALE, "False", "FailedGetScale", message)
            await self.events.record(hpa, "Warning", "FailedGetScale", str(e))
            return
        _set_condition(
            hpa,
            ABLE_TO_SCALE,
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
        )
        now = clock()
        current = scale.spec_replicas
        history = self.history[key]
        history.record_initial(current, now)
        minimum = spec.min_replicas if spec.HasField("min_replicas") else 1
        desired, reason = 0, ""
        statuses: list[autoscaling_pb2.MetricStatus] | None = None
        if current == 0 and minimum != 0:
            _set_condition(
                hpa,
                SCALING_ACTIVE,
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            )
            self._set_status(hpa, current, current, None, rescaled=False)
            return
        if current > spec.max_replicas:
            desired, reason = spec.max_replicas, "Current number of replicas above Spec.MaxReplicas"
        elif current < minimum:
            desired, reason = minimum, "Current number of replicas below Spec.MinReplicas"
        else:
            proposed = await self._from_metrics(hpa, scale, current, now)
            if proposed is None:
                return
            desired, metric, statuses = proposed
            if desired > current:
                reason = f"{metric} above target"
            elif desired < current:
                reason = "All metrics below target"
            desired = self._normalize(hpa, history, current, desired, minimum, now)
        rescale = desired != current
        if rescale:
            try:
                await update_scale(self.client, scale, desired)
            except errors.ApiError as e:
                await self.events.record(
                    hpa,
                    "Warning",
                    "FailedRescale",
                    f"New size: {desired}; reason: {reason}; error: {e}",
                )
                _set_condition(
                    hpa,
                    ABLE_TO_SCALE,
                    "False",
                    "FailedUpdateScale",
                    f"the HPA controller was unable to update the target scale: {e}",
                )
                self._set_status(hpa, current, current, statuses, rescaled=False)
                raise
            _set_condition(
                hpa,
                ABLE_TO_SCALE,
                "True",
                "SucceededRescale",
                f"the HPA controller was able to update the target scale to {desired}",
            )
            await self.events.record(
                hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}"
            )
            history.record_scale(self._behavior(hpa), current, desired, now)
            log.info(
                "rescaled",
                key=key,
                target=f"{scale.kind.resource}/{scale.name}",
                old=current,
                new=desired,
                reason=reason,
            )
        self._set_status(hpa, current, desired, statuses, rescaled=rescale)

    async def _from_metrics(
        self,
        hpa: autoscaling_pb2.HorizontalPodAutoscaler,
        scale: Scale,
        current: int,
        now: float,
    ) -> tuple[int, str, list[autoscaling_pb2.MetricStatus]] | None:
        """(the largest count the metrics propose, that metric's name, what each metric
        measured); None (status set) when no metric could give one."""
        namespace = hpa.metadata.namespace
        try:
            selector = selectors.parse_label_selector(scale.selector)
        except ValueError as e:
            await self._metrics_failed(hpa, current, "InvalidSelector", str(e), [])
            return None
        pods: list[core_pb2.Pod] = [
            p
            for p in self.pods.list(copy=False)
            if isinstance(p, core_pb2.Pod)
            and p.metadata.namespace == namespace
            and selector.matches(p.metadata.labels)
        ]
        found = await self.metrics.pod_metrics(namespace, pods) if pods else []
        settings = self.settings
        tuning = rc.Tuning(
            tolerance=settings.horizontal_pod_autoscaler_tolerance,
            cpu_initialization_period=settings.horizontal_pod_autoscaler_cpu_initialization_period,
            initial_readiness_delay=settings.horizontal_pod_autoscaler_initial_readiness_delay,
        )
        best: tuple[int, str] | None = None
        statuses: list[autoscaling_pb2.MetricStatus] = []
        failures: list[str] = []
        for spec in hpa.spec.metrics:
            resource, target = spec.resource.name, spec.resource.target
            usage = usage_of(found, resource)
            status = autoscaling_pb2.MetricStatus(type="Resource")
            status.resource.name = resource
            try:
                if target.HasField("average_utilization"):
                    got = rc.resource_replicas(
                        current,
                        target.average_utilization,
                        resource,
                        pods,
                        usage,
                        now,
                        tuning=tuning,
                    )
                    status.resource.current.average_utilization = got.utilization or 0
                else:
                    wanted = int(parse_quantity(target.average_value) * 1000)
                    got = rc.raw_resource_replicas(
                        current, wanted, resource, pods, usage, now, tuning=tuning
                    )
                status.resource.current.average_value = _quantity(got.average, resource)
            except (rc.MetricsError, ValueError) as e:
                failures.append(f"failed to get {resource} utilization: {e}")
                statuses.append(autoscaling_pb2.MetricStatus())
                continue
            statuses.append(status)
            if best is None or got.replicas > best[0]:
                best = (got.replicas, _metric_name(spec))
        if best is None:
            first = failures[0] if failures else "no metrics"
            await self._metrics_failed(hpa, current, "FailedGetResourceMetric", first, statuses)
            await self.events.record(
                hpa,
                "Warning",
                "FailedComputeMetricsReplicas",
                f"invalid metrics ({len(failures)} invalid out of {len(hpa.spec.metrics)}), "
                f"first error is: {first}",
            )
            return None
        _set_condition(
            hpa,
            SCALING_ACTIVE,
            "True",
            "ValidMetricFound",
            f"the HPA was able to successfully calculate a replica count from {best[1]}",
        )
        return best[0], best[1], statuses

    async def _metrics_failed(
        self,
        hpa: autoscaling_pb2.HorizontalPodAutoscaler,
        current: int,
        reason: str,
        message: str,
        statuses: list[autoscaling_pb2.MetricStatus],
    ) -> None:
        _set_condition(
            hpa,
            SCALING_ACTIVE,
            "False",
            reason,
            f"the HPA was unable to compute the replica count: {message}",
        )
        await self.events.record(hpa, "Warning", reason, message)
        self._set_status(hpa, current, current, statuses, rescaled=False)

    def _behavior(
        self, hpa: autoscaling_pb2.HorizontalPodAutoscaler
    ) -> autoscaling_pb2.HorizontalPodAutoscalerBehavior | None:
        """The HPA's behavior with the controller's scale-down window filled in; None
        without one."""
        if not hpa.spec.HasField("behavior"):
            return None
        behavior = autoscaling_pb2.HorizontalPodAutoscalerBehavior()
        behavior.CopyFrom(hpa.spec.behavior)
        autoscaling.fill_rules(behavior.scale_up, autoscaling.scale_up_defaults())
        autoscaling.fill_rules(behavior.scale_down, autoscaling.scale_down_defaults())
        if not behavior.scale_down.HasField("stabilization_window_seconds"):
            behavior.scale_down.stabilization_window_seconds = int(
                self.settings.horizontal_pod_autoscaler_downscale_stabilization
            )
        return behavior

    def _normalize(
        self,
        hpa: autoscaling_pb2.HorizontalPodAutoscaler,
        history: rc.History,
        current: int,
        desired: int,
        minimum: int,
        now: float,
    ) -> int:
        """Stabilize and limit a proposal, setting AbleToScale and ScalingLimited."""
        behavior = self._behavior(hpa)
        if behavior is None:
            stable = history.stabilize_down(
                desired, self.settings.horizontal_pod_autoscaler_downscale_stabilization, now
            )
            reason, message = (
                ("ReadyForNewScale", "recommended size matches current size")
                if stable == desired
                else (
                    "ScaleDownStabilized",
                    "recent recommendations were higher than current one, applying the "
                    "highest recent recommendation",
                )
            )
            _set_condition(hpa, ABLE_TO_SCALE, "True", reason, message)
            limited, why, text = rc.limit_by_rules(stable, current, minimum, hpa.spec.max_replicas)
        else:
            stable, reason, message = history.stabilize(
                desired,
                current,
                behavior.scale_up.stabilization_window_seconds,
                behavior.scale_down.stabilization_window_seconds,
                now,
            )
            if stable != desired:
                _set_condition(hpa, ABLE_TO_SCALE, "True", reason, message)
            else:
                _set_condition(
                    hpa,
                    ABLE_TO_SCALE,
                    "True",
                    "ReadyForNewScale",
                    "recommended size matches current size",
                )
            limited, why, text = rc.limit_by_rate(
                stable, current, minimum, hpa.spec.max_replicas, behavior, history, now
            )
        _set_condition(hpa, SCALING_LIMITED, "False" if limited == stable else "True", why, text)
        return limited

    def _set_status(
        self,
        hpa: autoscaling_pb2.HorizontalPodAutoscaler,
        current: int,
        desired: int,
        statuses: list[autoscaling_pb2.MetricStatus] | None,
        *,
        rescaled: bool,
    ) -> None:
        st = hpa.status
        st.current_replicas, st.desired_replicas = current, desired
        if statuses is not None:
            del st.current_metrics[:]
            st.current_metrics.extend(s for s in statuses)
        if rescaled:
            st.last_scale_time = format_time(_now_datetime())


def _quantity(milli: int, resource: str) -> str:
    """An average usage as the status writes it: cpu in cores ("250m"), memory in bytes."""
    if resource == "memory":
        return format_quantity(math.ceil(Fraction(milli, 1000)))
    return format_quantity(Fraction(milli, 1000))

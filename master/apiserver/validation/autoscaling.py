"""HorizontalPodAutoscalers: Kubernetes' checks (pkg/apis/autoscaling/validation), worded as
Kubernetes words them, for the part of autoscaling/v2 that Tugboat serves.

The checks run after defaulting, as Kubernetes runs them, so an HPA with no metrics has
the default cpu target by then and a `behavior` has its default policies. Two checks are
narrower than Kubernetes' on purpose, because the controller could never act on what they
refuse: a metric's type may only be "Resource" (Kubernetes also accepts Pods, Object,
External and ContainerResource, which need a custom or external metrics API), and its
resource only cpu or memory (the two the metrics API serves).
"""

from __future__ import annotations

from client import autoscaling
from client.names import is_path_segment_name
from client.quantity import QUANTITY_PATTERN, parse_quantity
from master.apiserver.validation.errors import Errors, child, index
from proto import autoscaling_pb2

__all__ = ["validate_horizontal_pod_autoscaler"]

_TARGET_TYPES = ("Utilization", "Value", "AverageValue")
_SELECT_POLICIES = (autoscaling.DISABLED, autoscaling.MAX, autoscaling.MIN)
"""Sorted, as Kubernetes lists them in its message."""
_POLICY_TYPES = (autoscaling.PERCENT, autoscaling.PODS)
MIN_REPLICAS_LOWER_BOUND = 1
"""Without the HPAScaleToZero feature gate (alpha, off) minReplicas must be at least 1."""


def validate_horizontal_pod_autoscaler(
    errs: Errors, hpa: autoscaling_pb2.HorizontalPodAutoscaler
) -> None:
    """The spec: replica bounds, the target reference, the metrics and the behavior."""
    spec = hpa.spec
    if spec.HasField("min_replicas") and spec.min_replicas < MIN_REPLICAS_LOWER_BOUND:
        errs.invalid(
            "spec.minReplicas",
            spec.min_replicas,
            f"must be greater than or equal to {MIN_REPLICAS_LOWER_BOUND}",
        )
    if spec.max_replicas < 1:
        errs.invalid("spec.maxReplicas", spec.max_replicas, "must be greater than 0")
    if spec.HasField("min_replicas") and spec.max_replicas < spec.min_replicas:
        errs.invalid(
            "spec.maxReplicas", spec.max_replicas, "must be greater than or equal to `minReplicas`"
        )
    _reference(errs, spec.scale_target_ref, "spec.scaleTargetRef")
    for i, metric in enumerate(spec.metrics):
        _metric(errs, metric, index("spec.metrics", i))
    if spec.HasField("behavior"):
        for name, rules in (
            ("scaleUp", spec.behavior.scale_up),
            ("scaleDown", spec.behavior.scale_down),
        ):
            _rules(errs, rules, f"spec.behavior.{name}")


def _reference(errs: Errors, ref: autoscaling_pb2.CrossVersionObjectReference, path: str) -> None:
    for field, value in (("kind", ref.kind), ("name", ref.name)):
        errs.syntax(child(path, field), value, is_path_segment_name)


def _metric(errs: Errors, metric: autoscaling_pb2.MetricSpec, path: str) -> None:
    if not metric.type:
        errs.required(child(path, "type"), "must specify a metric source type")
    elif metric.type != "Resource":
        errs.unsupported(child(path, "type"), metric.type, ["Resource"])
    if not metric.HasField("resource"):
        if metric.type == "Resource":
            errs.required(
                child(path, "resource"), "must populate information for the given metric source"
            )
        return
    _resource(errs, metric.resource, child(path, "resource"))


def _resource(errs: Errors, src: autoscaling_pb2.ResourceMetricSource, path: str) -> None:
    if not src.name:
        errs.required(child(path, "name"), "must specify a resource name")
    elif src.name not in autoscaling.RESOURCES:
        errs.unsupported(child(path, "name"), src.name, autoscaling.RESOURCES)
    target, tpath = src.target, child(path, "target")
    if not target.type:
        errs.required(child(tpath, "type"), "must specify a metric target type")
    if target.type not in _TARGET_TYPES:
        errs.invalid(
            child(tpath, "type"), target.type, "must be either Utilization, Value, or AverageValue"
        )
    for field, text in (("value", target.value), ("averageValue", target.average_value)):
        if text:
            _positive_quantity(errs, child(tpath, field), text)
    if target.HasField("average_utilization") and target.average_utilization < 1:
        errs.invalid(
            child(tpath, "averageUtilization"), target.average_utilization, "must be greater than 0"
        )
    has_utilization = target.HasField("average_utilization")
    if not has_utilization and not target.average_value:
        errs.required(
            child(tpath, "averageUtilization"),
            "must set either a target raw value or a target utilization",
        )
    if has_utilization and target.average_value:
        errs.forbidden(
            child(tpath, "averageValue"),
            "may not set both a target raw value and a target utilization",
        )


def _positive_quantity(errs: Errors, path: str, text: str) -> None:
    try:
        value = parse_quantity(text)
    except ValueError:
        errs.invalid(
            path, text, f"quantities must match the regular expression '{QUANTITY_PATTERN}'"
        )
        return
    if value <= 0:
        errs.invalid(path, text, "must be positive")


def _rules(errs: Errors, rules: autoscaling_pb2.HPAScalingRules, path: str) -> None:
    if rules.HasField("stabilization_window_seconds"):
        window = rules.stabilization_window_seconds
        if window < 0:
            errs.invalid(
                child(path, "stabilizationWindowSeconds"),
                window,
                "must be greater than or equal to zero",
            )
        if window > autoscaling.MAX_STABILIZATION_WINDOW_SECONDS:
            errs.invalid(
                child(path, "stabilizationWindowSeconds"),
                window,
                f"must be less than or equal to {autoscaling.MAX_STABILIZATION_WINDOW_SECONDS}",
            )
    if rules.select_policy and rules.select_policy not in _SELECT_POLICIES:
        errs.unsupported(child(path, "selectPolicy"), rules.select_policy, _SELECT_POLICIES)
    policies = child(path, "policies")
    if not rules.policies:
        errs.required(policies, "must specify at least one Policy")
    for i, policy in enumerate(rules.policies):
        ppath = index(policies, i)
        if policy.type not in _POLICY_TYPES:
            errs.unsupported(child(ppath, "type"), policy.type, _POLICY_TYPES)
        if policy.value <= 0:
            errs.invalid(child(ppath, "value"), policy.value, "must be greater than zero")
        if policy.period_seconds <= 0:
            errs.invalid(
                child(ppath, "periodSeconds"), policy.period_seconds, "must be greater than zero"
            )
        if policy.period_seconds > autoscaling.MAX_PERIOD_SECONDS:
            errs.invalid(
                child(ppath, "periodSeconds"),
                policy.period_seconds,
                f"must be less than or equal to {autoscaling.MAX_PERIOD_SECONDS}",
            )

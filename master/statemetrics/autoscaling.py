"""HorizontalPodAutoscalers: kube-state-metrics' kube_horizontalpodautoscaler_* families.

The target and current metric values are labelled as kube-state-metrics labels them
(`metric_name`, `metric_target_type` = utilization | average | value) and given as plain
numbers: a utilization in percent, an average value in the resource's base unit (cores,
bytes), so that one PromQL expression compares current with target.
"""

from __future__ import annotations

from client.quantity import parse_quantity
from master.statemetrics.families import Families, Labels
from proto import autoscaling_pb2


def _quantity(text: str) -> float | None:
    try:
        return float(parse_quantity(text))
    except ValueError:
        return None


def _values(
    name: str, value: str, average_value: str, utilization: int | None
) -> list[tuple[Labels, float]]:
    found: list[tuple[Labels, float]] = []
    for target_type, number in (
        ("value", _quantity(value) if value else None),
        ("average", _quantity(average_value) if average_value else None),
        ("utilization", float(utilization) if utilization is not None else None),
    ):
        if number is not None:
            found.append(({"metric_name": name, "metric_target_type": target_type}, number))
    return found


def hpa_metrics(hpa: autoscaling_pb2.HorizontalPodAutoscaler, out: Families) -> None:
    """Every kube_horizontalpodautoscaler_* series of one HPA."""
    m, spec, st = hpa.metadata, hpa.spec, hpa.status
    labels = {"namespace": m.namespace, "horizontalpodautoscaler": m.name}
    ref = spec.scale_target_ref
    out.gauge(
        "kube_horizontalpodautoscaler_info",
        "Information about this autoscaler.",
        {
            **labels,
            "scaletargetref_api_version": ref.api_version,
            "scaletargetref_kind": ref.kind,
            "scaletargetref_name": ref.name,
        },
        1,
    )
    out.created("horizontalpodautoscaler", "autoscaler", labels, m.creation_timestamp)
    out.gauge(
        "kube_horizontalpodautoscaler_metadata_generation",
        "The generation observed by the HorizontalPodAutoscaler controller.",
        labels,
        m.generation,
    )
    out.gauge(
        "kube_horizontalpodautoscaler_spec_max_replicas",
        "Upper limit for the number of pods that can be set by the autoscaler.",
        labels,
        spec.max_replicas,
    )
    out.gauge(
        "kube_horizontalpodautoscaler_spec_min_replicas",
        "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
        labels,
        spec.min_replicas if spec.HasField("min_replicas") else 1,
    )
    for metric in spec.metrics:
        t = metric.resource.target
        utilization = t.average_utilization if t.HasField("average_utilization") else None
        for extra, value in _values(metric.resource.name, t.value, t.average_value, utilization):
            out.gauge(
                "kube_horizontalpodautoscaler_spec_target_metric",
                "The metric specifications used by this autoscaler when calculating the "
                "desired replica count.",
                {**labels, **extra},
                value,
            )
    for status in st.current_metrics:
        now = status.resource.current
        utilization = now.average_utilization if now.HasField("average_utilization") else None
        for extra, value in _values(
            status.resource.name, now.value, now.average_value, utilization
        ):
            out.gauge(
                "kube_horizontalpodautoscaler_status_target_metric",
                "The current metric status used by this autoscaler when calculating the "
                "desired replica count.",
                {**labels, **extra},
                value,
            )
    out.gauge(
        "kube_horizontalpodautoscaler_status_current_replicas",
        "Current number of replicas of pods managed by this autoscaler.",
        labels,
        st.current_replicas,
    )
    out.gauge(
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "Desired number of replicas of pods managed by this autoscaler.",
        labels,
        st.desired_replicas,
    )
    out.conditions(
        "kube_horizontalpodautoscaler_status_condition",
        "The condition of this autoscaler.",
        labels,
        st.conditions,
    )

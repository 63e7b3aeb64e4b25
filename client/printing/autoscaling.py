"""`tug get hpa`'s cells, as kubectl 1.32 prints them (REFERENCE TARGETS MINPODS MAXPODS
REPLICAS AGE).

TARGETS pairs each metric's current value with its target (`cpu: 45%/50%`, or
`memory: 120Mi/200Mi` for an average value); a metric the controller has not measured
yet shows `<unknown>`, and past four metrics kubectl shows `+ N more...`.
"""

from __future__ import annotations

from datetime import datetime

from client.printing.age import age
from proto import autoscaling_pb2

__all__ = ["hpa_row", "hpa_targets"]

UNKNOWN = "<unknown>"
_SHOWN = 4
"""kubectl prints at most this many metrics, then `+ N more...`."""


def _one(spec: autoscaling_pb2.MetricSpec, status: autoscaling_pb2.MetricStatus | None) -> str:
    src = spec.resource
    current_value = status.resource.current if status is not None else None
    if src.target.average_value:
        current = current_value.average_value if current_value is not None else ""
        return f"{src.name}: {current or UNKNOWN}/{src.target.average_value}"
    current = UNKNOWN
    if current_value is not None and current_value.HasField("average_utilization"):
        current = f"{current_value.average_utilization}%"
    target = "<auto>"
    if src.target.HasField("average_utilization"):
        target = f"{src.target.average_utilization}%"
    return f"{src.name}: {current}/{target}"


def hpa_targets(hpa: autoscaling_pb2.HorizontalPodAutoscaler) -> str:
    """The TARGETS cell."""
    metrics, statuses = hpa.spec.metrics, hpa.status.current_metrics
    if not metrics:
        return "<none>"
    cells = []
    for i, spec in enumerate(metrics[:_SHOWN]):
        status = statuses[i] if i < len(statuses) and statuses[i].HasField("resource") else None
        cells.append(_one(spec, status))
    text = ", ".join(cells)
    if len(metrics) > _SHOWN:
        text += f" + {len(metrics) - _SHOWN} more..."
    return text


def hpa_row(hpa: autoscaling_pb2.HorizontalPodAutoscaler, at: datetime) -> list[str]:
    """REFERENCE, TARGETS, MINPODS, MAXPODS, REPLICAS, AGE."""
    spec = hpa.spec
    ref = spec.scale_target_ref
    return [
        f"{ref.kind}/{ref.name}",
        hpa_targets(hpa),
        str(spec.min_replicas) if spec.HasField("min_replicas") else "<unset>",
        str(spec.max_replicas),
        str(hpa.status.current_replicas),
        age(hpa.metadata.creation_timestamp, at),
    ]

"""The resource metrics API (metrics.k8s.io/v1beta1) as values: NodeMetrics and PodMetrics
made from a kubelet's stats.

Kubernetes' metrics-server scrapes every kubelet and serves the usage it found as this API;
`kubectl top` and the HorizontalPodAutoscaler read it. Tugboat's kubelets already keep the
CPU rate between their last two samples and answer `Stats` over the node-agent service,
so the API server builds the same objects on each request from those answers, and the HPA
controller builds them from the same answers (relayed by an API server): one conversion,
here, for both. Nothing is stored; a pod whose kubelet has no sample yet simply has no
metrics, as with metrics-server.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TypeVar

from client.kinds import Kind
from client.quantity import format_quantity
from proto import metrics_pb2, nodeagent_pb2

__all__ = [
    "API_VERSION",
    "NODE_METRICS",
    "POD_METRICS",
    "duration",
    "node_metrics",
    "pod_metrics",
]

API_VERSION = "metrics.k8s.io/v1beta1"
NODE_METRICS = Kind("NodeMetrics", API_VERSION, "nodes", metrics_pb2.NodeMetrics, False, (), False)
POD_METRICS = Kind("PodMetrics", API_VERSION, "pods", metrics_pb2.PodMetrics, True, (), False)
"""The two kinds, read-only (get, list) and never stored: not in client/kinds.py's registry,
which holds the kinds with a store, a strategy and a watch."""

Metrics = TypeVar("Metrics", metrics_pb2.NodeMetrics, metrics_pb2.PodMetrics)


def duration(seconds: float) -> str:
    """A Go duration as metav1.Duration writes it: "15s", "10.5s", "1m30s"."""
    millis = round(seconds * 1000)
    minutes, rest = divmod(millis, 60_000)
    secs = f"{rest // 1000}" if rest % 1000 == 0 else f"{rest / 1000:.3f}".rstrip("0")
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def _usage(usage: nodeagent_pb2.Usage) -> dict[str, str]:
    return {
        "cpu": format_quantity(Fraction(usage.cpu_nano_cores, 10**9)),
        "memory": format_quantity(usage.memory_working_set_bytes, binary=True),
    }


def _sampled(
    message: type[Metrics], stats: nodeagent_pb2.StatsResponse, name: str, namespace: str = ""
) -> Metrics:
    """An empty NodeMetrics or PodMetrics named `name`, stamped with the time and window of
    the kubelet's sample (metrics-server stamps both kinds alike)."""
    found = message(
        api_version=API_VERSION,
        kind=message.DESCRIPTOR.name,
        timestamp=stats.timestamp,
        window=duration(stats.window_seconds),
    )
    found.metadata.name = name
    found.metadata.namespace = namespace
    found.metadata.creation_timestamp = stats.timestamp
    return found


def node_metrics(stats: nodeagent_pb2.StatsResponse) -> metrics_pb2.NodeMetrics:
    """The NodeMetrics of one kubelet's answer."""
    found = _sampled(metrics_pb2.NodeMetrics, stats, stats.node)
    found.usage.update(_usage(stats.usage))
    return found


def pod_metrics(stats: nodeagent_pb2.StatsResponse) -> list[metrics_pb2.PodMetrics]:
    """The PodMetrics of every pod in one kubelet's answer (labels are the caller's)."""
    found = []
    for pod in stats.pods:
        metrics = _sampled(metrics_pb2.PodMetrics, stats, pod.name, pod.namespace)
        for container in pod.containers:
            metrics.containers.add(name=container.name).usage.update(_usage(container.usage))
        found.append(metrics)
    return found

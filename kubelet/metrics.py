"""The kubelet's Prometheus metrics; simulated nodes in one process share them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RUNNING_PODS = Gauge("tugboat_kubelet_running_pods", "Pods with a running sandbox.")
RUNNING_CONTAINERS = Gauge("tugboat_kubelet_running_containers", "Running app and init containers.")
POD_START_SECONDS = Histogram(
    "tugboat_kubelet_pod_start_duration_seconds",
    "From the kubelet first seeing a pod to all its containers running.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
)
PROBE_TOTAL = Counter(
    "tugboat_kubelet_probe_total", "Probe runs by kind and result.", ["probe", "result"]
)
RUNTIME_OPERATION_SECONDS = Histogram(
    "tugboat_kubelet_runtime_operations_duration_seconds",
    "Duration of container-runtime calls.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FENCINGS = Counter(
    "tugboat_kubelet_fencings_total",
    "Times a kubelet stopped its pods because its lease went unrenewed past the fence grace.",
)
RECONNECT_KILLS = Counter(
    "tugboat_kubelet_reconnect_kills_total",
    "Containers killed on reconnecting because their pod was no longer bound to the node.",
)

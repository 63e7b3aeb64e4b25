"""The kubelet's Prometheus metrics, in the kubelet's own names where Kubernetes has one.

Dashboards and alerts written for Kubernetes' kubelet (`kubelet_running_pods`,
`prober_probe_total`, `kubelet_pleg_relist_duration_seconds`...) work on these unchanged;
what only Tugboat does (self-fencing) is `tugboat_kubelet_*`. Simulated nodes in one
process share these series: Prometheus tells nodes apart by the scrape target.
Container usage (cAdvisor's names) is served apart, at /metrics/cadvisor
(kubelet/stats/cadvisor.py).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""Kubernetes' default histogram buckets (prometheus' DefBuckets, not prometheus_client's),
which the kubelet's own histograms of these names use."""

RUNNING_PODS = Gauge("kubelet_running_pods", "Number of pods that have a running pod sandbox.")
RUNNING_CONTAINERS = Gauge(
    "kubelet_running_containers", "Number of containers currently running.", ["container_state"]
)
POD_START_SECONDS = Histogram(
    "kubelet_pod_start_duration_seconds",
    "Duration in seconds from the kubelet seeing a pod for the first time to the pod running.",
    buckets=(0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600),
)
PROBE_TOTAL = Counter(
    "prober_probe_total",
    "Cumulative number of a liveness, readiness or startup probe for a container by result.",
    ["probe_type", "result", "container", "pod", "namespace"],
)
PLEG_RELIST_SECONDS = Histogram(
    "kubelet_pleg_relist_duration_seconds",
    "Duration in seconds for relisting pods in PLEG.",
    buckets=DEFAULT_BUCKETS,
)
PLEG_RELIST_INTERVAL_SECONDS = Histogram(
    "kubelet_pleg_relist_interval_seconds",
    "Interval in seconds between relisting in PLEG.",
    buckets=(0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10, 30),
)
RUNTIME_OPERATION_SECONDS = Histogram(
    "kubelet_runtime_operations_duration_seconds",
    "Duration in seconds of runtime operations, by operation type.",
    ["operation_type"],
    buckets=DEFAULT_BUCKETS,
)
FENCINGS = Counter(
    "tugboat_kubelet_fencings_total",
    "Times a kubelet stopped its pods because its lease went unrenewed past the fence grace.",
)
RECONNECT_KILLS = Counter(
    "tugboat_kubelet_reconnect_kills_total",
    "Containers killed on reconnecting because their pod was no longer bound to the node.",
)
STATS_COLLECTION_SECONDS = Histogram(
    "tugboat_kubelet_stats_collection_duration_seconds",
    "Duration in seconds of one round of container stats collection on a node.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
STATS_CPU_SECONDS = Counter(
    "tugboat_kubelet_stats_collection_cpu_seconds_total",
    "CPU time the kubelet spent collecting container stats (its threads' own CPU).",
)

"""The controllers' metrics (the queue depth and sync error metrics live with the queue)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SYNC_DURATION = Histogram(
    "tugboat_controller_sync_duration_seconds",
    "Time one sync(key) of a controller took.",
    ["controller"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
NODE_EVICTIONS = Counter(
    "tugboat_node_evictions_total",
    "Pods deleted because their node carried a NoExecute taint they do not tolerate.",
)
NODE_TAINTS = Counter(
    "tugboat_node_lifecycle_taints_total",
    "NoExecute taints put on nodes by the node lifecycle controller, by taint key.",
    ["taint"],
)
# Kubernetes' own names (pkg/controller/volume/ephemeral/metrics), so its alerts apply.
EPHEMERAL_VOLUME_CREATES = Counter(
    "ephemeral_volume_controller_create",
    "Number of PersistentVolumeClaims creation requests",
)
EPHEMERAL_VOLUME_CREATE_FAILURES = Counter(
    "ephemeral_volume_controller_create_failures",
    "Number of PersistentVolumeClaims creation requests that failed",
)
CERTIFICATES_ISSUED = Counter(
    "tugboat_controller_certificates_issued_total",
    "Certificates the csrsigning controller issued for CertificateSigningRequests, by signer.",
    ["signer"],
)
CERTIFICATE_REQUESTS_FAILED = Counter(
    "tugboat_controller_certificate_requests_failed_total",
    "CertificateSigningRequests the csrsigning controller marked Failed, by signer.",
    ["signer"],
)

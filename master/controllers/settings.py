"""The controller manager's settings: one dataclass, one docstring per field.

Defaults favour a small cluster that heals fast; each field names the Kubernetes flag
and value it corresponds to, so an operator can choose Kubernetes' timings instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ControllerSettings:
    """What `run_controllers` runs and how."""

    controllers: tuple[str, ...] | None = None
    """Which controllers run, by name (kube-controller-manager --controllers); None: all
    (the names are catalog.py's)."""
    workers: int = 2
    """Workers per controller (--concurrent-*-syncs; Kubernetes: 5)."""
    burst_replicas: int = 500
    """Most pods one ReplicaSet/Job/DaemonSet sync creates or deletes (Kubernetes: 500)."""
    pod_updates_batch_period: float = 0.0
    """Seconds by which a pod's update delays its ReplicaSet's, Job's or DaemonSet's sync,
    so that the updates of that time share one sync; a pod's creation or deletion is not
    delayed (--pod-updates-batch-period; Kubernetes batches Endpoints the same way with
    --endpoint-updates-batch-period, 0 by default). Each sync reads every pod of the
    owner's namespace, so while thousands of pods start, unbatched syncs run back to back."""
    expectations_ttl: float = 300.0
    """Seconds after which unmet expectations are presumed lost (Kubernetes: 5 min)."""
    node_monitor_period: float = 1.0
    """Seconds between checks of every node's heartbeat (--node-monitor-period; 5 s)."""
    node_monitor_grace_period: float = 8.0
    """A Lease silent this long marks the node Ready=Unknown (Kubernetes: 40 s, now 50 s)."""
    node_startup_grace_period: float = 30.0
    """Grace for a node that never reported Ready (--node-startup-grace-period; 60 s)."""
    node_eviction_rate: float = 0.1
    """Nodes per second that get NoExecute taints in a healthy zone (Kubernetes: 0.1)."""
    secondary_node_eviction_rate: float = 0.01
    """The rate when a zone is partly disrupted (Kubernetes: 0.01)."""
    unhealthy_zone_threshold: float = 0.55
    """Fraction of not-ready nodes from which a zone counts as disrupted (Kubernetes: 0.55)."""
    cluster_cidr: str = "172.30.0.0/16"
    """Pod addresses of the cluster, split into one range per node (--cluster-cidr)."""
    node_cidr_mask_size: int = 24
    """Prefix length of each node's podCIDR (--node-cidr-mask-size)."""
    service_cluster_ip_range: str = "172.30.255.0/24"
    """ClusterIPs; node IPAM never hands out a podCIDR overlapping it, as in Kubernetes
    (--service-cluster-ip-range; the default is the cluster CIDR's last /24)."""
    resource_quota_sync_period: float = 30.0
    """Seconds between recounts of every ResourceQuota (--resource-quota-sync-period;
    Kubernetes: 5 min); pods that stop counting are recounted at once."""
    job_backoff_base: float = 1.0
    """First delay before a failed Job pod is replaced, doubling (Kubernetes: 10 s)."""
    job_backoff_max: float = 60.0
    """Longest such delay (Kubernetes: 6 min)."""
    local_path_dir: str = "/var/lib/tugboat/local-path"
    """Where on a node the local-path provisioner makes each volume's directory (k3s:
    /var/lib/rancher/k3s/storage); --local-path-dir."""
    local_path_helper_image: str = "busybox:1.35"
    """The image of the helper pod that removes a deleted volume's directory on its node;
    --local-path-helper-image."""
    horizontal_pod_autoscaler_sync_period: float = 15.0
    """Seconds between two looks of the HPA controller at each HorizontalPodAutoscaler
    (--horizontal-pod-autoscaler-sync-period; Kubernetes: 15 s)."""
    horizontal_pod_autoscaler_downscale_stabilization: float = 300.0
    """The scale-down window of an HPA whose behavior sets none
    (--horizontal-pod-autoscaler-downscale-stabilization; Kubernetes: 5 min)."""
    horizontal_pod_autoscaler_tolerance: float = 0.1
    """Usage within this fraction of the target changes nothing
    (--horizontal-pod-autoscaler-tolerance; Kubernetes: 0.1)."""
    horizontal_pod_autoscaler_cpu_initialization_period: float = 300.0
    """Seconds after a pod starts in which its cpu is trusted only once ready
    (--horizontal-pod-autoscaler-cpu-initialization-period; Kubernetes: 5 min)."""
    horizontal_pod_autoscaler_initial_readiness_delay: float = 30.0
    """(--horizontal-pod-autoscaler-initial-readiness-delay; Kubernetes: 30 s)."""
    cluster_signing_cert_file: str = ""
    """The CA certificate (PEM) the csrsigning controller signs approved requests with
    (--cluster-signing-cert-file); without it and its key the controller does not run,
    as kube-controller-manager's csrsigning signs nothing without them."""
    cluster_signing_key_file: str = ""
    """The CA's unencrypted PEM private key (--cluster-signing-key-file)."""
    cluster_signing_duration: float = 8760 * 3600.0
    """Longest lifetime in seconds of a certificate the csrsigning controller issues; a
    request's spec.expirationSeconds may ask for less (--cluster-signing-duration;
    Kubernetes: 8760h)."""

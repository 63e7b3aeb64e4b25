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

"""Scheduler plugins, one concern per module; importing this package registers them all."""

from master.scheduler.plugins import (
    balanced_allocation,
    inter_pod_affinity,
    least_allocated,
    node_affinity,
    node_name,
    node_ports,
    node_resources_fit,
    node_unschedulable,
    pod_topology_spread,
    taint_toleration,
    volume_binding,
)

__all__ = [
    "balanced_allocation",
    "inter_pod_affinity",
    "least_allocated",
    "node_affinity",
    "node_name",
    "node_ports",
    "node_resources_fit",
    "node_unschedulable",
    "pod_topology_spread",
    "taint_toleration",
    "volume_binding",
]

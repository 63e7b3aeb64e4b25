"""Nodes: info, conditions, schedulability, taints, capacity and allocatable."""

from __future__ import annotations

from master.statemetrics.families import Families, resources
from proto import core_pb2


def node_metrics(node: core_pb2.Node, out: Families) -> None:
    """Every kube_node_* series of one node."""
    m, st = node.metadata, node.status
    labels = {"node": m.name}
    info = st.node_info
    address = next((a.address for a in st.addresses if a.type == "InternalIP"), "")
    out.gauge(
        "kube_node_info",
        "Information about a node.",
        {
            **labels,
            "kernel_version": info.kernel_version,
            "os_image": info.os_image,
            "container_runtime_version": info.container_runtime_version,
            "kubelet_version": info.kubelet_version,
            "pod_cidr": node.spec.pod_cidr,
            "internal_ip": address,
            "system_uuid": info.machine_id,
        },
        1,
    )
    out.created("node", "node", labels, m.creation_timestamp)
    out.gauge("kube_node_spec_unschedulable", "Whether the node takes no new pods.", labels,
              1 if node.spec.unschedulable else 0)
    for taint in node.spec.taints:
        out.gauge(
            "kube_node_spec_taint",
            "A taint of the node.",
            {**labels, "key": taint.key, "value": taint.value, "effect": taint.effect},
            1,
        )
    out.conditions(
        "kube_node_status_condition",
        "The node's conditions (Ready, MemoryPressure...): 1 on the status it has.",
        labels,
        st.conditions,
    )
    for name, amounts in (("capacity", st.capacity), ("allocatable", st.allocatable)):
        for resource, value in resources(amounts):
            out.gauge(
                f"kube_node_status_{name}",
                f"The node's {name} of each resource.",
                {**labels, **resource},
                value,
            )

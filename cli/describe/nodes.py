"""Describing nodes: conditions, addresses, capacity and the pods running there."""

from __future__ import annotations

from cli.describe.writer import NONE, Writer, timestamp
from client.api import ApiClient
from client.printing.age import age
from client.printing.columns import node_roles
from proto import core_pb2


async def describe_node(w: Writer, node: core_pb2.Node, api: ApiClient) -> None:
    """The page of a node, with its non-terminated pods."""
    meta, spec, st = node.metadata, node.spec, node.status
    w.field(0, "Name", meta.name)
    w.field(0, "Roles", node_roles(node))
    w.mapping(0, "Labels", dict(meta.labels))
    w.mapping(0, "Annotations", dict(meta.annotations), ": ")
    w.field(0, "CreationTimestamp", timestamp(meta.creation_timestamp))
    taints = [
        f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}" for t in spec.taints
    ]
    if taints:
        for i, t in enumerate(taints):
            w.line(0, "Taints:" if i == 0 else "", t)
    else:
        w.field(0, "Taints", NONE)
    w.field(0, "Unschedulable", "true" if spec.unschedulable else "false")
    w.title(0, "Conditions:")
    w.table(
        1,
        ["Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason", "Message"],
        [
            [
                c.type,
                c.status,
                timestamp(c.last_heartbeat_time),
                timestamp(c.last_transition_time),
                c.reason,
                c.message,
            ]
            for c in st.conditions
        ],
    )
    w.title(0, "Addresses:")
    for a in st.addresses:
        w.field(1, a.type, a.address)
    for title, values in (("Capacity", st.capacity), ("Allocatable", st.allocatable)):
        w.title(0, f"{title}:")
        for k, v in sorted(values.items()):
            w.field(1, k, v)
    info = st.node_info
    w.title(0, "System Info:")
    w.field(1, "Machine ID", info.machine_id)
    w.field(1, "Kernel Version", info.kernel_version)
    w.field(1, "OS Image", info.os_image)
    w.field(1, "Operating System", info.operating_system)
    w.field(1, "Architecture", info.architecture)
    w.field(1, "Container Runtime Version", info.container_runtime_version)
    w.field(1, "Kubelet Version", info.kubelet_version)
    w.field(0, "PodCIDR", spec.pod_cidr)
    page = await api.list("pods", "", field_selector=f"spec.nodeName={meta.name}")
    pods = [
        p
        for p in page.items
        if isinstance(p, core_pb2.Pod) and p.status.phase not in ("Succeeded", "Failed")
    ]
    w.field(0, "Non-terminated Pods", f"({len(pods)} in total)")
    if pods:
        w.table(
            1,
            ["Namespace", "Name", "Age"],
            [
                [p.metadata.namespace, p.metadata.name, age(p.metadata.creation_timestamp)]
                for p in pods
            ],
        )

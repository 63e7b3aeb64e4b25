"""The kubelet registers its Node, reports its machine and keeps its Lease."""

from __future__ import annotations

import pytest

from client.errors import NotFound
from proto import core_pb2, workloads_pb2
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker


async def test_the_node_registers_with_capacity_addresses_info_and_ready(api, kubelet, node_name):
    async def registered():
        try:
            node = await api.get("nodes", "", node_name)
        except NotFound:
            return None
        return node if node.status.conditions else None

    node = await eventually(registered, what="node status")
    assert isinstance(node, core_pb2.Node)
    assert node.metadata.labels["kubernetes.io/hostname"] == node_name
    assert node.metadata.labels["kubernetes.io/os"] == "linux"
    assert node.status.capacity["pods"] == node.status.allocatable["pods"] == "110"
    assert node.status.capacity["cpu"] and node.status.capacity["memory"].endswith("Ki")
    addresses = {a.type: a.address for a in node.status.addresses}
    assert addresses["InternalIP"] == "127.0.0.1"
    assert node.status.node_info.container_runtime_version.startswith("docker://")
    assert node.status.node_info.operating_system == "linux"
    assert node.status.daemon_endpoints.kubelet_endpoint.port == kubelet.config.port
    ready = {c.type: c for c in node.status.conditions}["Ready"]
    assert ready.status == "True" and ready.reason == "KubeletReady"

    await eventually(lambda: kubelet.heartbeat.renewals >= 1, what="a lease")
    lease = await api.get("leases", "kube-node-lease", node_name)
    assert isinstance(lease, workloads_pb2.Lease)
    assert lease.spec.holder_identity == node_name
    first = lease.spec.renew_time

    async def renewed():
        got = await api.get("leases", "kube-node-lease", node_name)
        return got.spec.renew_time > first

    await eventually(renewed, what="a lease renewal")


async def test_an_unchanged_node_status_is_not_rewritten(api, kubelet, node_name):
    await eventually(lambda: kubelet.heartbeat is not None and kubelet.heartbeat.renewals >= 1)
    assert kubelet.heartbeat is not None
    assert await kubelet.heartbeat.write_status() is False

"""dnsPolicy reaches the sandbox: ClusterFirst pods resolve through the cluster DNS with
Kubernetes' search path, `Default` pods keep the node's resolver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from kubelet.runtime.docker import DockerRuntime
from proto import nodeagent_pb2, nodeagent_pb2_grpc
from tests.integration.kubelet.pods import container, pod, running, wait_for_pod

pytestmark = pytest.mark.docker


async def resolv_conf(port: int, name: str) -> str:
    async def inputs() -> AsyncIterator[nodeagent_pb2.ExecInput]:
        start = nodeagent_pb2.ExecStart(
            namespace="default", pod=name, command=["cat", "/etc/resolv.conf"]
        )
        yield nodeagent_pb2.ExecInput(start=start)

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
        out = b""
        async for msg in stub.Exec(inputs()):
            out += msg.stdout
    return out.decode()


async def test_dns_policy_default_keeps_the_nodes_resolver(api, kubelets, node_name):
    # A cluster DNS address on this host, as when a proxy serves it here.
    kubelet = await kubelets.start(node_name, DockerRuntime(node_name, cluster_dns="127.0.0.1"))
    sleeper = container("main", "sleep", "3600")
    await api.create(pod("cluster-first", node_name, sleeper, dns_policy="ClusterFirst"))
    await api.create(pod("node-resolver", node_name, sleeper, dns_policy="Default"))
    for name in ("cluster-first", "node-resolver"):
        await wait_for_pod(api, name, running)
    first = await resolv_conf(kubelet.config.port, "cluster-first")
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in first, first
    plain = await resolv_conf(kubelet.config.port, "node-resolver")
    assert "svc.cluster.local" not in plain, plain

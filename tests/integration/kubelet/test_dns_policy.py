"""dnsPolicy reaches the sandbox: ClusterFirst pods resolve through the cluster DNS with
Kubernetes' search path, `Default` pods keep the node's resolver."""

from __future__ import annotations

import pytest

from kubelet.runtime.docker import DockerRuntime
from tests.integration.kubelet.pods import container, pod, read_file, running, wait_for_pod

pytestmark = pytest.mark.docker


async def test_dns_policy_default_keeps_the_nodes_resolver(api, node_name, kubelets):
    # A cluster DNS address on this host, as when a proxy serves it here.
    kubelet = await kubelets.start(node_name, DockerRuntime(node_name, cluster_dns="127.0.0.1"))
    sleeper = container("main", "sleep", "3600")
    await api.create(pod("cluster-first", node_name, sleeper, dns_policy="ClusterFirst"))
    await api.create(pod("node-resolver", node_name, sleeper, dns_policy="Default"))
    for name in ("cluster-first", "node-resolver"):
        await wait_for_pod(api, name, running)
    first = await read_file(kubelet.config.port, "cluster-first", "/etc/resolv.conf")
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in first, first
    plain = await read_file(kubelet.config.port, "node-resolver", "/etc/resolv.conf")
    assert "svc.cluster.local" not in plain, plain

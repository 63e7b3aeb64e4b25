"""What a pod says of names and processes reaches its containers: dnsConfig in
resolv.conf, hostAliases in /etc/hosts, and shareProcessNamespace letting one container
see another's processes."""

from __future__ import annotations

import asyncio

import docker
import pytest

from kubelet.runtime.docker import DockerRuntime
from tests.integration.kubelet.pods import (
    container,
    container_id,
    pod,
    read_file,
    running,
    wait_for_pod,
)

pytestmark = pytest.mark.docker


async def test_dns_config_and_host_aliases_reach_the_pods_resolver_and_hosts_file(
    api, node_name, kubelets
):
    # A cluster DNS address on this host, as when a proxy serves it here.
    kubelet = await kubelets.start(node_name, DockerRuntime(node_name, cluster_dns="127.0.0.1"))
    p = pod("named", node_name, container("main", "sleep", "3600"))
    config = p.spec.dns_config
    config.nameservers.append("127.0.0.2")
    config.searches.append("my.dns.search.suffix")
    config.options.add(name="ndots", value="2")
    config.options.add(name="edns0")
    p.spec.host_aliases.add(ip="127.0.0.9", hostnames=["foo.local", "bar.local"])
    await api.create(p)
    await wait_for_pod(api, "named", running)
    resolv = await read_file(kubelet.config.port, "named", "/etc/resolv.conf")
    assert "search default.svc.cluster.local svc.cluster.local cluster.local " in resolv, resolv
    assert "my.dns.search.suffix" in resolv, resolv
    assert "ndots:2" in resolv and "ndots:5" not in resolv and "edns0" in resolv, resolv
    hosts = await read_file(kubelet.config.port, "named", "/etc/hosts")
    entries = {(line.split()[0], name) for line in hosts.splitlines() if line.strip()
               for name in line.split()[1:]}  # fmt: skip
    assert {("127.0.0.9", "foo.local"), ("127.0.0.9", "bar.local")} <= entries, hosts


async def test_containers_sharing_the_process_namespace_see_each_others_processes(
    api, kubelet, node_name
):
    p = pod(
        "sharing",
        node_name,
        container("worker", "sh", "-c", "exec sleep 4242"),
        container("shell", "sleep", "3600"),
    )
    p.spec.share_process_namespace = True
    await api.create(p)
    made = await wait_for_pod(api, "sharing", running)
    box = await asyncio.to_thread(docker.from_env().containers.get, container_id(made, "shell"))
    listing = await asyncio.to_thread(box.exec_run, ["ps", "-o", "args"])
    assert isinstance(listing.output, bytes)
    assert "sleep 4242" in listing.output.decode(), listing.output


async def test_containers_of_an_ordinary_pod_see_only_their_own_processes(api, kubelet, node_name):
    p = pod(
        "apart",
        node_name,
        container("worker", "sh", "-c", "exec sleep 4243"),
        container("shell", "sleep", "3600"),
    )
    await api.create(p)
    made = await wait_for_pod(api, "apart", running)
    box = await asyncio.to_thread(docker.from_env().containers.get, container_id(made, "shell"))
    listing = await asyncio.to_thread(box.exec_run, ["ps", "-o", "args"])
    assert isinstance(listing.output, bytes)
    assert "sleep 4243" not in listing.output.decode(), listing.output

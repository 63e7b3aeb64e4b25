"""The pod network on real Docker: pod IPs from each node's podCIDR, pod to pod across nodes.

Two in-process kubelets share this machine's engine, each following its Node for the
podCIDR (what node IPAM in the controller manager writes; here the test writes it). The
network is the test's own (`tugboat-pn-<id>` on 172.31.0.0/17), removed afterwards, so
the test neither depends on nor disturbs the shared `tugboat` network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from client.api import ApiClient
from client.errors import Conflict, NotFound
from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.network.bridge import POD_IP_LABEL, NetworkError, remove_if_unused
from kubelet.network.podnetwork import PodNetwork
from kubelet.network.veth import attached, host_end
from kubelet.runtime.docker import DockerRuntime
from kubelet.runtime.interface import LABEL_ATTEMPT, LABEL_KIND, LABEL_NODE, LABEL_POD_NAME
from proto import core_pb2
from tests.integration.kubelet.conftest import FAST_PODS, remove_node_containers
from tests.integration.kubelet.pods import container, pod, running, status_of, wait_for_pod
from tests.support.ports import free_port
from tests.support.waiting import eventually

CLUSTER_CIDR = "172.31.0.0/16"
SERVICE_RANGE = "172.31.255.0/24"
POD_NETWORK = "172.31.0.0/17"


@pytest.fixture
def network() -> Iterator[str]:
    """A Docker network name of the test's own; removed (with any container left) afterwards."""
    name = f"tugboat-pn-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        client = docker.from_env()
        try:
            for n in client.networks.list(names=[name]):
                n.reload()
                for c in n.containers:
                    c.remove(force=True)
                n.remove()
        except docker.errors.NotFound:
            pass
        finally:
            client.close()


class Node:
    """A kubelet on Docker with its pod-network follower."""

    def __init__(self, kubelet: Kubelet, follower: asyncio.Task[None]) -> None:
        self.kubelet = kubelet
        self.follower = follower

    @property
    def runtime(self) -> DockerRuntime:
        assert isinstance(self.kubelet.runtime, DockerRuntime)
        return self.kubelet.runtime

    async def stop(self) -> None:
        self.follower.cancel()
        await asyncio.gather(self.follower, return_exceptions=True)
        await self.kubelet.stop()
        await self.kubelet.runtime.close()


class Nodes:
    """Starts node-mode kubelets on the test network; removes their containers at the end."""

    def __init__(self, api: ApiClient, root: Path, network: str) -> None:
        self.api, self.root, self.network = api, root, network
        self.running: list[Node] = []
        self.names: set[str] = set()
        self.sandbox_network = "veth"

    def runtime(self, name: str) -> DockerRuntime:
        return DockerRuntime(
            name,
            network=self.network,
            pod_cidr_mode="node",
            sandbox_network=self.sandbox_network,
            cluster_cidr=CLUSTER_CIDR,
            service_range=SERVICE_RANGE,
            pod_cidr_wait=1.0,
        )

    async def start(self, name: str) -> Node:
        self.names.add(name)
        config = KubeletConfig(
            node_name=name,
            address="127.0.0.1",
            port=free_port("127.0.0.1"),
            root_dir=self.root / name,
            lease_period=1.0,
            relist_period=0.5,
            pods=FAST_PODS,
        )
        runtime = self.runtime(name)
        kubelet = Kubelet(config, self.api, runtime)
        follower = PodNetwork(self.api, name, runtime.bridge.set_pod_cidr, resync_period=5.0)
        node = Node(kubelet, asyncio.create_task(follower.run()))
        self.running.append(node)
        await kubelet.start()
        return node

    async def start_with_pod_cidr(self, cidr: str) -> tuple[str, Node]:
        """A new node, given `cidr` as node IPAM would: its name and the node."""
        name = node_name()
        node = await self.start(name)
        await give_pod_cidr(self.api, name, cidr)
        return name, node

    async def stop(self, node: Node) -> None:
        self.running.remove(node)
        await node.stop()

    async def close(self) -> None:
        for node in list(self.running):
            await self.stop(node)
        for name in self.names:
            await asyncio.to_thread(remove_node_containers, name)


@pytest.fixture
async def nodes(api: ApiClient, tmp_path: Path, network: str) -> AsyncIterator[Nodes]:
    made = Nodes(api, tmp_path, network)
    try:
        yield made
    finally:
        await made.close()


def node_name() -> str:
    return f"pn-{uuid.uuid4().hex[:8]}"


async def give_pod_cidr(api: ApiClient, name: str, cidr: str) -> None:
    """What node IPAM does: write spec.podCIDR on the registered Node (the kubelet writes
    its status meanwhile, so a Conflict means read again and retry)."""

    async def written() -> bool:
        try:
            node = await api.get("nodes", "", name)
            assert isinstance(node, core_pb2.Node)
            node.spec.pod_cidr = cidr
            await api.update(node)
        except (NotFound, Conflict):
            return False
        return True

    await eventually(written, timeout=20, what=f"podCIDR {cidr} on node {name}")


def server(name: str, node: str) -> core_pb2.Pod:
    serve = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"
    return pod(name, node, container("web", "sh", "-c", serve))


def sleeper(name: str, node: str) -> core_pb2.Pod:
    return pod(name, node, container("main", "sleep", "3600"))


async def pod_ip(api: ApiClient, name: str) -> str:
    p = await wait_for_pod(api, name, lambda p: running(p) and p.status.pod_ip, timeout=60)
    return p.status.pod_ip


def in_cidr(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


@pytest.mark.parametrize("sandbox_network", ["veth", "docker"])
async def test_pods_get_ips_from_their_nodes_pod_cidr_and_reach_each_other_across_nodes(
    api: ApiClient, nodes: Nodes, sandbox_network: str
) -> None:
    nodes.sandbox_network = sandbox_network
    a_name, b_name = node_name(), node_name()
    a = await nodes.start(a_name)
    await nodes.start(b_name)
    await api.create(server("web", a_name))
    await api.create(sleeper("client", b_name))
    # No podCIDR yet: the sandbox waits, and the pod's events say why.
    failed: Any = await eventually(
        lambda: _sandbox_failure(api, "web"), timeout=20, what="FailedCreatePodSandBox event"
    )
    assert "has no spec.podCIDR yet" in failed

    await give_pod_cidr(api, a_name, "172.31.1.0/24")
    await give_pod_cidr(api, b_name, "172.31.2.0/24")
    web_ip, client_ip = await pod_ip(api, "web"), await pod_ip(api, "client")
    assert in_cidr(web_ip, "172.31.1.0/24"), web_ip
    assert in_cidr(client_ip, "172.31.2.0/24"), client_ip

    client = await wait_for_pod(api, "client", running)
    cid = status_of(client, "main").container_id.removeprefix("docker://")
    # No -T: Debian's static busybox wget crashes with it.
    fetch = ["wget", "-q", "-O", "-", f"http://{web_ip}:8080/"]

    async def fetched() -> bytes | None:
        result = await a.runtime.exec_run(cid, fetch, timeout=10)
        return result.output if result.exit_code == 0 else None

    body = await eventually(fetched, timeout=20, what=f"client on {b_name} fetching {web_ip}")
    assert body.strip() == b"web"


async def _sandbox_failure(api: ApiClient, pod_name: str) -> str | None:
    events = await api.list("events", "default")
    for e in events.items:
        assert isinstance(e, core_pb2.Event)
        if e.involved_object.name == pod_name and e.reason == "FailedCreatePodSandBox":
            return e.message
    return None


async def test_a_restarted_kubelet_keeps_pod_ips_unique(api: ApiClient, nodes: Nodes) -> None:
    name, first = await nodes.start_with_pod_cidr("172.31.3.0/24")
    for i in range(2):
        await api.create(sleeper(f"before-{i}", name))
    before = {await pod_ip(api, f"before-{i}") for i in range(2)}
    await nodes.stop(first)

    await nodes.start(name)  # a fresh IPAM: it must learn the addresses from Docker
    for i in range(3):
        await api.create(sleeper(f"after-{i}", name))
    after = {await pod_ip(api, f"after-{i}") for i in range(3)}
    assert len(before) == 2 and len(after) == 3
    assert not before & after, (before, after)
    assert all(in_cidr(ip, "172.31.3.0/24") for ip in before | after)
    assert {await pod_ip(api, f"before-{i}") for i in range(2)} == before


async def test_a_pod_network_with_another_subnet_is_replaced_only_when_nothing_is_attached(
    network: str, nodes: Nodes
) -> None:
    client = docker.from_env()
    try:
        pool = docker.types.IPAMPool(subnet="172.31.200.0/24")
        old = client.networks.create(network, ipam=docker.types.IPAMConfig(pool_configs=[pool]))
        squatter = client.containers.run(
            "busybox:1.35", ["sleep", "3600"], detach=True, network=network
        )
        try:
            runtime = nodes.runtime(node_name())
            runtime.bridge.set_pod_cidr("172.31.4.0/24")
            with pytest.raises(NetworkError, match=r"has subnet 172.31.200.0/24, not the pod"):
                await runtime.bridge.ensure()
        finally:
            squatter.remove(force=True)
        await runtime.bridge.ensure()
        await runtime.close()
        replaced = client.networks.get(network)
        assert replaced.id != old.id
        assert [c["Subnet"] for c in replaced.attrs["IPAM"]["Config"]] == [POD_NETWORK]
    finally:
        client.close()


async def test_an_address_held_by_a_container_of_no_node_is_skipped(
    api: ApiClient, network: str, nodes: Nodes
) -> None:
    client = docker.from_env()
    try:
        pool = docker.types.IPAMPool(subnet=POD_NETWORK, gateway="172.31.0.1")
        client.networks.create(network, ipam=docker.types.IPAMConfig(pool_configs=[pool]))
        client.containers.create(
            "busybox:1.35", ["sleep", "3600"], name=f"{network}-squatter", network=network
        )
        squatter = client.containers.get(f"{network}-squatter")
        client.networks.get(network).disconnect(squatter)
        client.networks.get(network).connect(squatter, ipv4_address="172.31.5.2")
        squatter.start()
        name, _ = await nodes.start_with_pod_cidr("172.31.5.0/24")
        await api.create(sleeper("p", name))
        assert await pod_ip(api, "p") == "172.31.5.3"
    finally:
        client.close()


async def test_a_bridge_removed_under_a_running_node_is_made_again_for_its_next_pod(
    api: ApiClient, network: str, nodes: Nodes
) -> None:
    name, _ = await nodes.start_with_pod_cidr("172.31.6.0/24")
    await api.create(sleeper("first", name))
    await pod_ip(api, "first")
    await api.delete("pods", "default", "first", grace_period_seconds=0)
    # Another cluster's `tug down` removes the bridge once no container is on it.
    await eventually(
        lambda: asyncio.to_thread(remove_if_unused, network), timeout=30, what="bridge removed"
    )
    await api.create(sleeper("second", name))
    assert in_cidr(await pod_ip(api, "second"), "172.31.6.0/24")


def sandbox_of(node: str, pod_name: str) -> dict[str, Any]:
    """The inspect document of the pod's running sandbox on `node`."""
    client = docker.from_env()
    try:
        rows = client.api.containers(
            filters={"label": [f"{LABEL_NODE}={node}", f"{LABEL_KIND}=sandbox"]}
        )
        for row in rows:
            inspected: dict[str, Any] = client.api.inspect_container(row["Id"])
            if inspected["Config"]["Labels"].get(LABEL_POD_NAME) == pod_name:
                return inspected
        raise AssertionError(f"no running sandbox of pod {pod_name} on {node}")
    finally:
        client.close()


def inspect_network(name: str) -> dict[str, Any]:
    client = docker.from_env()
    try:
        found: dict[str, Any] = client.api.inspect_network(name)
        return found
    finally:
        client.close()


async def test_a_sandbox_joins_the_bridge_by_veth_not_as_a_docker_endpoint(
    api: ApiClient, network: str, nodes: Nodes
) -> None:
    name, a = await nodes.start_with_pod_cidr("172.31.7.0/24")
    await api.create(server("web", name))
    ip = await pod_ip(api, "web")
    sandbox = await asyncio.to_thread(sandbox_of, name, "web")
    # Docker knows nothing of the address: no endpoint, so no embedded resolver either.
    assert sandbox["HostConfig"]["NetworkMode"] == "none"
    assert sandbox["Config"]["Labels"][POD_IP_LABEL] == ip
    assert not (await asyncio.to_thread(inspect_network, network))["Containers"]

    # The host reaches the pod through the bridge, as it reached a Docker endpoint.
    def fetch() -> bytes | None:
        try:
            with urllib.request.urlopen(f"http://{ip}:8080/", timeout=2) as r:
                body: bytes = r.read()
                return body
        except OSError:
            return None

    assert (await eventually(lambda: asyncio.to_thread(fetch), timeout=20, what=ip)) == b"web\n"
    web = await wait_for_pod(api, "web", running)
    cid = status_of(web, "web").container_id.removeprefix("docker://")
    hosts = await a.runtime.exec_run(cid, ["cat", "/etc/hosts"], timeout=10)
    assert f"{ip}\tweb" in hosts.output.decode(), hosts.output
    route = await a.runtime.exec_run(cid, ["ip", "route"], timeout=10)
    assert "default via 172.31.0.1 dev eth0" in route.output.decode(), route.output
    # So that the pod can reach itself through a Service (see docs/networking.md).
    hairpin = Path("/sys/class/net", host_end(sandbox["Id"]), "brport", "hairpin_mode")
    assert (await asyncio.to_thread(hairpin.read_text)).strip() == "1"


async def test_a_bridge_a_veth_sandbox_is_on_is_not_removed_as_unused(
    api: ApiClient, network: str, nodes: Nodes
) -> None:
    name, _ = await nodes.start_with_pod_cidr("172.31.8.0/24")
    await api.create(sleeper("p", name))
    await pod_ip(api, "p")
    assert not await asyncio.to_thread(remove_if_unused, network)
    assert (await asyncio.to_thread(inspect_network, network))["Name"] == network


async def test_a_sandbox_a_dead_kubelet_left_without_its_veth_is_replaced_by_the_next(
    api: ApiClient, nodes: Nodes
) -> None:
    name, first = await nodes.start_with_pod_cidr("172.31.9.0/24")
    await api.create(server("web", name))
    await pod_ip(api, "web")
    await nodes.stop(first)
    # What a kubelet killed between the sandbox's start and its attach leaves behind.
    old = await asyncio.to_thread(sandbox_of, name, "web")
    await asyncio.to_thread(
        subprocess.run, ["ip", "link", "del", host_end(old["Id"])], check=True, timeout=10
    )

    await nodes.start(name)

    async def replaced() -> dict[str, Any] | None:
        try:
            new = await asyncio.to_thread(sandbox_of, name, "web")
        except AssertionError:
            return None
        return new if new["Id"] != old["Id"] else None

    new = await eventually(replaced, timeout=30, what="a new sandbox for pod web")
    assert new["Config"]["Labels"][LABEL_ATTEMPT] == "1"
    assert await asyncio.to_thread(attached, new["Id"])
    ip = new["Config"]["Labels"][POD_IP_LABEL]
    await wait_for_pod(api, "web", lambda p: running(p) and p.status.pod_ip == ip, timeout=30)

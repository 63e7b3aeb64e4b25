"""nftables mode for real: a node, two pods and an outside host as network namespaces.

The test builds the node the way a container node looks (a pod bridge, the service
interface carrying the cluster DNS address and the route for the service range, an uplink
to another host) out of network namespaces of its own, runs a real `Proxier` in nftables
mode against a real API server, and points the proxy's `nft` into the node namespace
(`ip netns exec NODE nft`). Traffic then flows through the kernel's rules only: from a
pod, from the node itself, from the outside host to nodePorts. Sockets are made inside a
namespace by a short-lived thread that enters it (setns is per thread), so the test
process never leaves its own namespace. Every namespace is deleted at the end, which also
removes its links, its rules and anything still bound in it.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2
from proxy import metrics
from proxy.proxier import Proxier
from proxy.settings import NFT_MIN_SYNC_INTERVAL, NFTABLES, ProxySettings
from tests.integration.proxy.conftest import Backend as LoopBackend
from tests.integration.proxy.conftest import ProxyFactory, service
from tests.integration.proxy.conftest import set_endpoints as write_endpoints
from tests.support.netlab import DNS_IP, NodeLab, run
from tests.support.waiting import eventually

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None or shutil.which("ip") is None,
    reason="needs root, nft and ip",
)

CLONE_NEWNET = 0x40000000
NODE_PORT = 30080
_libc = ctypes.CDLL(None, use_errno=True)


def socket_in(ns: str, kind: int) -> socket.socket:
    """A new IPv4 socket in namespace `ns`: made by a thread that entered it."""
    made: list[socket.socket] = []
    errors: list[BaseException] = []

    def enter() -> None:
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            made.append(socket.socket(socket.AF_INET, kind))
        except BaseException as e:  # handed to the caller's thread
            errors.append(e)

    t = threading.Thread(target=enter)
    t.start()
    t.join(10)
    if errors:
        raise errors[0]
    return made[0]


@dataclass
class Lab:
    """The namespaces (tests/support/netlab.py): node, pod-a (172.30.1.2), pod-b
    (172.30.1.3), outside (10.99.0.2); and the servers the test runs in them."""

    namespaces: NodeLab
    servers: list[asyncio.AbstractServer] = field(default_factory=list)
    transports: list[asyncio.BaseTransport] = field(default_factory=list)

    def ns(self, role: str) -> str:
        return self.namespaces.ns(role)

    @property
    def nft(self) -> tuple[str, ...]:
        return self.namespaces.nft

    def rules(self) -> str:
        return run(*self.nft, "list", "table", "ip", "tugboat-proxy", check=False)

    async def serve(self, role: str, ip: str, name: str, tell_peer: bool = False) -> None:
        """TCP 8080 and UDP 5353 in `role`'s namespace, answering `name` (over TCP with
        "from ADDRESS", the source it saw, when `tell_peer`)."""
        tcp = socket_in(self.ns(role), socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((ip, 8080))

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readline()
                seen = f" from {writer.get_extra_info('peername')[0]}" if tell_peer else ""
                writer.write(f"{name}{seen}\n".encode())
                await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        self.servers.append(await asyncio.start_server(answer, sock=tcp))
        self.transports.append(await self.udp_responder(role, ip, 5353, name))

    async def udp_responder(self, role: str, ip: str, port: int, name: str) -> Any:
        loop = asyncio.get_running_loop()
        udp = socket_in(self.ns(role), socket.SOCK_DGRAM)
        udp.bind((ip, port))
        reply = name.encode()

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                self.transport.sendto(reply, addr)

        transport, _ = await loop.create_datagram_endpoint(Echo, sock=udp)
        return transport

    async def ask(self, role: str, ip: str, port: int, timeout: float = 2.0) -> str:
        """One TCP connection from `role`'s namespace: the name that answered."""
        sock = socket_in(self.ns(role), socket.SOCK_STREAM)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, (ip, port))
                await loop.sock_sendall(sock, b"who\n")
                return (await loop.sock_recv(sock, 100)).decode().strip()
        finally:
            sock.close()

    async def ask_udp(self, role: str, ip: str, port: int, timeout: float = 2.0) -> str:
        sock = socket_in(self.ns(role), socket.SOCK_DGRAM)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, (ip, port))
                await loop.sock_sendall(sock, b"who")
                return (await loop.sock_recv(sock, 100)).decode().strip()
        finally:
            sock.close()

    async def close(self) -> None:
        for s in self.servers:
            s.close()
        for t in self.transports:
            t.close()


@pytest.fixture
def lab_namespaces() -> Iterator[Lab]:
    namespaces = NodeLab(secrets.token_hex(3))
    namespaces.build()
    try:
        yield Lab(namespaces)
    finally:
        namespaces.remove()


@pytest.fixture
async def lab(lab_namespaces: Lab) -> AsyncIterator[Lab]:
    try:
        yield lab_namespaces
    finally:
        await lab_namespaces.close()


async def start_proxy(api: ApiClient, lab: Lab, proxies: ProxyFactory) -> Proxier:
    """A real Proxier in nftables mode whose nft works in the lab's node namespace."""
    settings = ProxySettings(
        node_name="node-1",
        address="10.99.0.1",
        proxy_mode=NFTABLES,
        interface="",
        cluster_dns_ip=DNS_IP,
        dns_port=-1,
        sync_period=5.0,
        min_sync_interval=NFT_MIN_SYNC_INTERVAL,
        drain_timeout=0.1,
    )
    proxier = Proxier(settings, api)
    assert proxier.nft is not None
    proxier.nft.command = lab.nft
    proxies.running.append(proxier)
    await proxier.start()
    return proxier


def pods(*names: str) -> list[LoopBackend]:
    ips = {"pod-a": "172.30.1.2", "pod-b": "172.30.1.3"}
    return [LoopBackend(n, ips[n], 8080) for n in names]


async def web_service(api: ApiClient, *, affinity: bool = False, name: str = "web") -> str:
    svc = await api.create(
        service(name, port=80, node_port=0 if affinity else NODE_PORT, affinity=affinity)
    )
    return str(svc.spec.cluster_ip)


async def wait_rules(lab: Lab, *needles: str, absent: tuple[str, ...] = ()) -> None:
    def loaded() -> bool:
        text = lab.rules()
        return all(n in text for n in needles) and not any(n in text for n in absent)

    await eventually(loaded, timeout=10, what=f"rules with {needles} without {absent}")


async def test_cluster_ip_from_pods_and_node_node_ports_udp_and_cluster_dns(
    api: ApiClient, lab: Lab, proxies: ProxyFactory
) -> None:
    await lab.serve("pa", "172.30.1.2", "pod-a")
    await lab.serve("pb", "172.30.1.3", "pod-b")
    dns = await lab.udp_responder("node", DNS_IP, 53, "cluster-dns")
    lab.transports.append(dns)
    ip = await web_service(api)
    await write_endpoints(api, "web", pods("pod-a", "pod-b"))
    udp = await api.create(service("echo", port=53, protocol="UDP"))
    udp_ip = str(udp.spec.cluster_ip)
    await write_endpoints(api, "echo", [LoopBackend("pod-b", "172.30.1.3", 5353)], protocol="UDP")
    await start_proxy(api, lab, proxies)
    await wait_rules(lab, ip, udp_ip, "172.30.1.2", "172.30.1.3")

    # From a pod: both endpoints answer, pod-a too (hairpin: pod-a reaching itself).
    answers = {await lab.ask("pa", ip, 80) for _ in range(30)}
    assert answers == {"pod-a", "pod-b"}
    # From the node itself (output hook).
    assert {await lab.ask("node", ip, 80) for _ in range(20)} == {"pod-a", "pod-b"}
    # NodePort from another host, on each of the node's addresses.
    for address in ("10.99.0.1", "172.30.1.1"):
        got = {await lab.ask("out", address, NODE_PORT) for _ in range(20)}
        assert got == {"pod-a", "pod-b"}, address
    # UDP through a ClusterIP; the cluster DNS address still reaches the local server.
    assert await lab.ask_udp("pa", udp_ip, 53) == "pod-b"
    assert await lab.ask_udp("pa", DNS_IP, 53) == "cluster-dns"
    assert await lab.ask_udp("node", DNS_IP, 53) == "cluster-dns"
    # As a whole address: a ClusterIP such as 172.30.255.100 starts with the DNS address.
    assert not re.search(rf"{re.escape(DNS_IP)}(?![0-9])", lab.rules()), lab.rules()
    assert metrics.NFT_RULES._value.get() > 0


async def test_client_ip_affinity_holds_across_50_requests(
    api: ApiClient, lab: Lab, proxies: ProxyFactory
) -> None:
    await lab.serve("pa", "172.30.1.2", "pod-a")
    await lab.serve("pb", "172.30.1.3", "pod-b")
    ip = await web_service(api, affinity=True, name="sticky")
    await write_endpoints(api, "sticky", pods("pod-a", "pod-b"))
    await start_proxy(api, lab, proxies)
    await wait_rules(lab, ip, "172.30.1.2", "172.30.1.3")
    # The outside host reaches ClusterIPs through the node (as a router would send them).
    run("ip", "-n", lab.ns("out"), "route", "add", "172.30.255.0/24", "via", "10.99.0.1")
    for client in ("pa", "out"):
        answers = [await lab.ask(client, ip, 80) for _ in range(50)]
        assert len(set(answers)) == 1, (client, answers)
    pinned = await lab.ask("pa", ip, 80)
    # A change elsewhere replaces the table; the affinity entries are carried over.
    other = await web_service(api, name="other")
    await wait_rules(lab, other)
    assert re.search(r"172\.30\.1\.2 (timeout \S+ )?expires", lab.rules()), lab.rules()
    assert {await lab.ask("pa", ip, 80) for _ in range(20)} == {pinned}


async def test_an_endpoint_leaving_readiness_is_out_of_the_rules_within_a_second(
    api: ApiClient, lab: Lab, proxies: ProxyFactory
) -> None:
    await lab.serve("pa", "172.30.1.2", "pod-a")
    await lab.serve("pb", "172.30.1.3", "pod-b")
    ip = await web_service(api)
    await write_endpoints(api, "web", pods("pod-a", "pod-b"))
    await start_proxy(api, lab, proxies)
    await wait_rules(lab, ip, "172.30.1.3")
    for _ in range(3):  # more than once: a change lands anywhere in the sync interval
        await write_endpoints(api, "web", pods("pod-a"), not_ready=pods("pod-b"))
        written = time.monotonic()
        await wait_rules(lab, "172.30.1.2", absent=("172.30.1.3",))
        assert time.monotonic() - written < 1.0
        assert {await lab.ask("pa", ip, 80) for _ in range(10)} == {"pod-a"}
        await write_endpoints(api, "web", pods("pod-a", "pod-b"))
        await wait_rules(lab, "172.30.1.3")


async def test_scaled_to_zero_a_service_refuses_at_once(
    api: ApiClient, lab: Lab, proxies: ProxyFactory
) -> None:
    await lab.serve("pa", "172.30.1.2", "pod-a")
    ip = await web_service(api)
    await write_endpoints(api, "web", pods("pod-a"))
    await start_proxy(api, lab, proxies)
    await wait_rules(lab, "172.30.1.2")
    assert await lab.ask("pb", ip, 80) == "pod-a"
    await write_endpoints(api, "web", [])
    await wait_rules(lab, "no-endpoint", absent=("172.30.1.2",))
    for client, address, port in (
        ("pb", ip, 80),
        ("node", ip, 80),
        ("out", "10.99.0.1", NODE_PORT),
    ):
        started = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            await lab.ask(client, address, port, timeout=3.0)
        assert time.monotonic() - started < 1.0, (client, address)


ON_NODES = {"172.30.1.2": "node-1", "172.30.1.3": "node-2"}
"""Where the lab's pods run, as their Endpoints say: pod-a on the proxy's node (node-1)."""


async def node_port_service(
    api: ApiClient, *ips: str, external: str, internal: str = "Cluster"
) -> str:
    """Service "local" on NODE_PORT with these traffic policies and the pods at `ips` as
    its endpoints (port 8080); its ClusterIP."""
    made = service("local", port=80, node_port=NODE_PORT)
    made.spec.external_traffic_policy = external
    made.spec.internal_traffic_policy = internal
    svc = await api.create(made)
    addresses = [{"ip": ip, "nodeName": ON_NODES[ip]} for ip in ips]
    await api.create(from_dict(core_pb2.Endpoints, {
        "metadata": {"name": "local", "namespace": "default"},
        "subsets": [{"addresses": addresses, "ports": [{"port": 8080}]}],
    }))  # fmt: skip
    return str(svc.spec.cluster_ip)


async def test_external_traffic_policy_local_keeps_the_clients_address_and_this_nodes_pods(
    api: ApiClient, lab: Lab, proxies: ProxyFactory
) -> None:
    await lab.serve("pa", "172.30.1.2", "pod-a", tell_peer=True)
    await lab.serve("pb", "172.30.1.3", "pod-b", tell_peer=True)
    ip = await node_port_service(api, "172.30.1.2", "172.30.1.3", external="Local")
    await start_proxy(api, lab, proxies)
    await wait_rules(lab, ip, "172.30.1.2", "172.30.1.3")
    # From another host: only the endpoint on this node, and it sees the client's address.
    got = {await lab.ask("out", "10.99.0.1", NODE_PORT) for _ in range(20)}
    assert got == {"pod-a from 10.99.0.2"}
    # A pod reaching the nodePort is not outside traffic: every endpoint, as with Cluster.
    got = {(await lab.ask("pb", "10.99.0.1", NODE_PORT)).split()[0] for _ in range(30)}
    assert got == {"pod-a", "pod-b"}
    # Nor is the node itself: every endpoint, masqueraded to the node's pod-side address.
    got = {await lab.ask("node", "10.99.0.1", NODE_PORT) for _ in range(30)}
    assert got == {"pod-a from 172.30.1.1", "pod-b from 172.30.1.1"}, got
    # The ClusterIP keeps its own (Cluster) policy.
    got = {(await lab.ask("node", ip, 80)).split()[0] for _ in range(30)}
    assert got == {"pod-a", "pod-b"}


async def test_a_local_policy_without_an_endpoint_on_this_node_drops_the_connection(
    api: ApiClient, lab: Lab, proxies: ProxyFactory
) -> None:
    await lab.serve("pb", "172.30.1.3", "pod-b", tell_peer=True)
    ip = await node_port_service(api, "172.30.1.3", external="Local", internal="Local")
    await start_proxy(api, lab, proxies)
    await wait_rules(lab, ip, "172.30.1.3")
    stranded = metrics.NO_LOCAL_ENDPOINTS

    def counted() -> bool:
        # Set once `nft -f` has returned, which is a moment after the rules show.
        return all(
            stranded.labels(traffic_policy=p)._value.get() == 1 for p in ("external", "internal")
        )

    await eventually(counted, timeout=5, what="both Local policies counted as stranded")
    # Dropped, not refused, as kube-proxy does: the service has endpoints, elsewhere.
    for client, address, port in (("out", "10.99.0.1", NODE_PORT), ("pa", ip, 80)):
        with pytest.raises(TimeoutError):
            await lab.ask(client, address, port, timeout=1.0)
    # A pod still reaches the nodePort through any endpoint, keeping its own address;
    # the node itself too, masqueraded, though the chain it goes to marks nothing.
    assert await lab.ask("pa", "10.99.0.1", NODE_PORT) == "pod-b from 172.30.1.2"
    assert await lab.ask("node", "10.99.0.1", NODE_PORT) == "pod-b from 172.30.1.1"


EXTERNAL_IP = "10.99.9.50"
"""Off the uplink's subnet, so the outside host routes it to the node (its default route)."""
LOCAL_EXTERNAL_IP = "10.99.9.51"


async def test_external_ips_take_outside_traffic_by_policy_and_refuse_without_endpoints(
    api: ApiClient, lab: Lab, proxies: ProxyFactory
) -> None:
    await lab.serve("pa", "172.30.1.2", "pod-a", tell_peer=True)
    await lab.serve("pb", "172.30.1.3", "pod-b", tell_peer=True)
    made = service("outside", port=80)
    made.spec.external_ips.append(EXTERNAL_IP)
    await api.create(made)
    await write_endpoints(api, "outside", pods("pod-a", "pod-b"))
    local = service("local", port=80)
    local.spec.external_ips.append(LOCAL_EXTERNAL_IP)
    local.spec.external_traffic_policy = "Local"
    await api.create(local)
    addresses = [{"ip": ip, "nodeName": node} for ip, node in ON_NODES.items()]
    await api.create(from_dict(core_pb2.Endpoints, {
        "metadata": {"name": "local", "namespace": "default"},
        "subsets": [{"addresses": addresses, "ports": [{"port": 8080}]}],
    }))  # fmt: skip
    # A node routes such addresses somewhere (its default route, on a real host); without
    # any route, a connection would fail at routing, before the proxy's rules could refuse
    # it. Not back out of the uplink: forwarding out of the interface a packet came in by
    # sent the client an ICMP redirect and no refusal at all (seen in a capture).
    run("ip", "-n", lab.ns("node"), "route", "add", "10.99.9.0/24", "dev", "tugboat-svc")
    await start_proxy(api, lab, proxies)
    await wait_rules(lab, EXTERNAL_IP, LOCAL_EXTERNAL_IP, "172.30.1.2", "172.30.1.3")
    # Cluster: outside traffic, masqueraded, to every endpoint; from a pod too.
    got = {await lab.ask("out", EXTERNAL_IP, 80) for _ in range(30)}
    assert got == {"pod-a from 172.30.1.1", "pod-b from 172.30.1.1"}, got
    for client in ("pb", "node"):
        got = {(await lab.ask(client, EXTERNAL_IP, 80)).split()[0] for _ in range(30)}
        assert got == {"pod-a", "pod-b"}, client
    # Local: this node's endpoint only, and it sees the client's own address.
    got = {await lab.ask("out", LOCAL_EXTERNAL_IP, 80) for _ in range(20)}
    assert got == {"pod-a from 10.99.0.2"}

    await write_endpoints(api, "outside", [])
    await wait_rules(lab, "no-endpoint", absent=("goto ext-default/outside/",))
    for client in ("out", "pb", "node"):
        started = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            await lab.ask(client, EXTERNAL_IP, 80, timeout=3.0)
        assert time.monotonic() - started < 1.0, client


# The crashed proxy's service sits outside the service range (a documentation address),
# so the ClusterIP the test's own Service is given can never be mistaken for it.
STALE = """\
import asyncio, signal, sys
from proxy.nftables import NftConfig
from proxy.nftsync import NftSyncer
from proxy.table import Backend, ServicePort
port = ServicePort("old/svc", "old/svc", "", "TCP", "192.0.2.99", 80, 0, None,
                   (Backend("172.30.1.9", 80),), ())
asyncio.run(NftSyncer(NftConfig(), sys.argv[1:]).sync([port]))
print("loaded", flush=True)
signal.pause()  # until the test's SIGKILL
"""


async def test_a_proxy_killed_with_sigkill_and_restarted_replaces_its_stale_table(
    api: ApiClient, lab: Lab, proxies: ProxyFactory
) -> None:
    crashed = await asyncio.create_subprocess_exec(
        sys.executable, "-c", STALE, *lab.nft, stdout=asyncio.subprocess.PIPE
    )
    assert crashed.stdout is not None
    try:
        lines: list[str] = []
        for _ in range(10):  # its log lines, then "loaded" (EOF if it failed)
            async with asyncio.timeout(20):
                lines.append((await crashed.stdout.readline()).decode().strip())
            if lines[-1] in ("loaded", ""):
                break
        assert lines[-1] == "loaded", lines
    finally:
        os.kill(crashed.pid, signal.SIGKILL)
        async with asyncio.timeout(10):
            await crashed.wait()
    assert "192.0.2.99" in lab.rules()  # what a crash leaves behind

    ip = await web_service(api)
    await write_endpoints(api, "web", pods("pod-a"))
    stale_before = metrics.NFT_STALE_TABLES._value.get()
    proxier = await start_proxy(api, lab, proxies)
    assert metrics.NFT_STALE_TABLES._value.get() == stale_before + 1
    await wait_rules(lab, ip, "172.30.1.2", absent=("192.0.2.99",))
    assert run(*lab.nft, "list", "tables").count("tugboat-proxy") == 1

    await proxies.stop(proxier)  # a clean stop removes the table
    assert "tugboat-proxy" not in run(*lab.nft, "list", "tables")

"""The nftables proxy measured on a host of its own: a node namespace, three pods, a client.

The nftables mode programs the kernel of the proxy's own host, so it cannot share the
loopback node of the userspace and HAProxy runs. It gets the shape of a container node
(tests/support/netlab.py): a node namespace with a pod bridge, three pod namespaces each
serving the same small page, and an outside namespace standing for another host, from
which wrk runs. Three wrk processes at once send the same load
twice: all three to the NodePort on the node's address (the proxy's DNAT, then forwarding
to the pods it picks), then one to each pod's own address through the same node
(forwarding alone, the load spread evenly by hand). Both sides use the same three pods
and the same client, and each starts once the client's and the pods' namespaces hold few
sockets in TIME_WAIT (bench/proxy/timewait.py), so the ratio is the cost of the rules.
The two run in turn for `rounds` rounds, the order turned each round, and each side's
median is its figure: the node's connection-tracking table, which keeps a closed
connection for two minutes, is then as full for one side as for the other. (The first
version compared with one pod alone, whose single-threaded httpd bounded the baseline
instead.)

The pods' server is HAProxy answering every request itself, closing each connection as
busybox httpd did, with a listen backlog of 4,096. busybox httpd forks per connection
and listens with a backlog of 9: at 50 connections per pod its listen queue overflowed
about 550 times a 10-second phase. Each overflow drops the handshake's last ACK after the
client has taken the connection for open and written its request, which then waits for
the server's SYN-ACK again, a second later: about 3 % of the direct path's requests, so
its p99 was about 1 s, a measure of the pods' backlog. wrk times a request from its
write, so losses before the connection is up (the NodePort path's client retransmitted
thousands of SYNs a phase, see timewait.py) never reached its p99: the two p99s measured
different things. With HAProxy no queue overflows and the direct path retransmits
nothing: its p99 is about 15 ms and its rate about 19,000 requests a second, three times
busybox's. Against that the NodePort path reached half the rate: its client
retransmitted about 9,000 SYNs a phase and sent about as many
resets, while the pods' queues never overflowed. A capture shows why: such a SYN is
answered by a bare ACK echoing an older connection's timestamp, which is how a TIME_WAIT
socket refuses a SYN, and the client resets and sends the SYN again. Masquerading maps
many client connections onto one pod-side tuple over a minute, and each connection's
timestamps start at a random offset, so a pod's TIME_WAIT socket for that tuple fails the
new SYN's PAWS check. The direct path keeps the client's own tuple, whose timestamps
only grow, so the pods let it reuse theirs. The rules now masquerade TCP keeping the
client's port where it is free (proxy/nftables.py), and the NodePort path retransmits no
SYN: about 0.85-0.9 of the direct rate in the runs since.

Where that rest goes, from experiments in this lab by hand (medians of 2 to 4 rounds,
every phase from an empty connection-tracking table): not the rules, nor the address
translation. DNAT from each pod's own address and port 8080 to port 80, with the direct
path's client spread, measured 1.00x direct; a minimal hand-written NodePort rule set
(one DNAT by numgen, one masquerade) measured as ours did; the NodePort path without
masquerade as with it. Drawing endpoints at random rather than in turn costs about 4 %
(`numgen inc` 1.04x `random`). The rest goes with the client: its three wrk processes
all connect to one address and port, so they share the 14,116 even source ports that
Linux gives connect() towards one destination (the node tracked exactly that many
connections after a phase, against 42,348 for the direct path's three destinations).
The client cannot be spread to match: sent to three node addresses, or to three
nodePorts, it uses one source port towards several of them at once, and when two are
sent to the same pod the translated connections collide (about 13,000 req/s). Three
client hosts, the shape of real traffic, fall as low with masquerade (13,200 against
46,000 direct): the pods see one node address for all three, and their equal port
numbers collide. nstat counted PAWS refusals in the pods' TIME_WAIT and the clients'
SYN retransmissions, and two clients stalled while the third went on. That is not the
whole cause: masquerading each client to a port range of its own, so that a moved
connection lands on a tuple last used by the same client, gave 14,600. With
`externalTrafficPolicy: Local`, which keeps each client's own address, they reach
0.81-0.85x direct.

The proxy is a real `Proxier` in nftables mode against the benchmark's API server, with
its `nft` pointed into the node namespace. Everything is removed at the end: the
pods' HAProxy processes by PID, the table by the proxy's clean stop, the namespaces last.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.proxy.timewait import settle
from bench.proxy.turns import Measured, in_turns
from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2
from proxy.proxier import Proxier
from proxy.settings import NFT_MIN_SYNC_INTERVAL, NFTABLES, ProxySettings
from tests.support.netlab import DNS_IP, NODE_IP, NodeLab, run

__all__ = ["LabResult", "measure"]

PODS = ("pa", "pb", "pc")
SERVICE = "bench-nft"

LabResult = dict[str, tuple[float, float]]
"""Run name ("nftables", "direct-lab") -> (requests per second, p99 in ms)."""


POD_SERVER = """global
    maxconn 8000
    nbthread 1
defaults
    mode http
    option httpclose
    timeout client 10s
    timeout connect 5s
    timeout server 10s
frontend pod
    bind {ip}:80 backlog 4096
    http-request return status 200 content-type text/plain string "{role}"
"""
"""A pod: HAProxy answering by itself, one connection per request (see above)."""


def _server(lab: NodeLab, role: str, root: Path) -> subprocess.Popen[bytes]:
    config = root / f"{role}.cfg"
    config.write_text(POD_SERVER.format(ip=lab.pod_ip(role), role=role))
    # `ip netns exec` execs HAProxy, so the PID is HAProxy's own (stopped by it below).
    return subprocess.Popen(
        ["ip", "netns", "exec", lab.ns(role), "haproxy", "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _answers(lab: NodeLab, url: str) -> bool:
    done = subprocess.run(
        ["ip", "netns", "exec", lab.ns("out"), "curl", "-sf", "-m", "1", "-o", "/dev/null", url],
        capture_output=True, timeout=10, check=False,
    )  # fmt: skip
    return done.returncode == 0


def _answering(lab: NodeLab, url: str) -> Callable[[], bool]:
    return lambda: _answers(lab, url)


def _wait(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not within {timeout} s")


async def _publish(api: ApiClient, lab: NodeLab, node_port: int) -> None:
    await api.create(from_dict(core_pb2.Service, {
        "metadata": {"name": SERVICE, "namespace": "default"},
        "spec": {"type": "NodePort", "selector": {"app": SERVICE},
                 "ports": [{"port": 80, "nodePort": node_port}]},
    }))  # fmt: skip
    await api.create(from_dict(core_pb2.Endpoints, {
        "metadata": {"name": SERVICE, "namespace": "default"},
        "subsets": [{"addresses": [{"ip": lab.pod_ip(r)} for r in PODS],
                     "ports": [{"port": 80}]}],
    }))  # fmt: skip


def measure(
    server: str,
    node_port: int,
    wrk: Callable[[str, tuple[str, ...]], tuple[float, float]],
    rounds: int = 1,
) -> LabResult:
    """Build the lab, measure the NodePort through nftables and the pods straight, clean up.

    `wrk(url, prefix)` runs wrk with the command prefix (here: into the outside namespace)
    and gives requests per second and p99 in ms. Each side is the median of `rounds`.
    """
    if os.geteuid() != 0:
        raise RuntimeError("the nftables lab needs root (network namespaces, nft)")
    lab = NodeLab(secrets.token_hex(3), PODS)
    lab.build()
    servers: list[subprocess.Popen[bytes]] = []
    root = Path(tempfile.mkdtemp(prefix="tugboat-bench-nft-"))
    try:
        servers = [_server(lab, role, root) for role in PODS]
        return asyncio.run(_measure(server, node_port, lab, wrk, rounds))
    finally:
        for proc in servers:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
        lab.remove()
        run("rm", "-rf", str(root), check=False)


def _together(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """Concurrent wrk runs as one: their requests per second added, the worst p99."""
    return sum(rate for rate, _ in runs), max(p99 for _, p99 in runs)


async def _measure(
    server: str,
    node_port: int,
    lab: NodeLab,
    wrk: Callable[[str, tuple[str, ...]], tuple[float, float]],
    rounds: int,
) -> LabResult:
    prefix = ("ip", "netns", "exec", lab.ns("out"))
    quiet = [prefix, *(("ip", "netns", "exec", lab.ns(pod)) for pod in PODS)]
    node_port_url = f"http://{NODE_IP}:{node_port}/"
    runs = {
        "nftables": [node_port_url] * len(PODS),
        "direct-lab": [f"http://{lab.pod_ip(pod)}/" for pod in PODS],
    }
    async with ApiClient([server]) as api:
        await _publish(api, lab, node_port)
        settings = ProxySettings(
            node_name="bench-nft", address=NODE_IP, proxy_mode=NFTABLES, interface="",
            cluster_dns_ip=DNS_IP, dns_port=-1, sync_period=30.0,
            min_sync_interval=NFT_MIN_SYNC_INTERVAL, drain_timeout=0.1,
        )  # fmt: skip
        proxier = Proxier(settings, api)
        assert proxier.nft is not None
        proxier.nft.command = lab.nft
        await proxier.start()
        try:
            for name, urls in runs.items():
                for url in set(urls):
                    await asyncio.to_thread(_wait, _answering(lab, url), f"{name} {url}")

            def one(name: str) -> Measured:
                settle(*quiet)
                urls = runs[name]
                with ThreadPoolExecutor(len(urls)) as pool:
                    each = list(pool.map(lambda url: wrk(url, prefix), urls))
                rate, p99 = _together(each)
                return rate, p99, ""

            return await asyncio.to_thread(in_turns, list(runs), rounds, one)
        finally:
            await proxier.stop()

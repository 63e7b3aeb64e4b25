"""Proxy benchmark: requests per second, p99 latency and bulk throughput, side by side.

    .venv/bin/python -m bench.proxy [--duration 10] [--connections 50] [--size-mb 1024]
                                    [--rounds 3]

Three busybox `httpd` pods (containers on the project's `tugboat` Docker network, the
pod network) serve a small page and a 1 GiB sparse file. A real etcd, API server and
`tug-proxy` process serve them as a NodePort Service on a loopback node address. wrk
(Debian's package) measures the same pods three ways:

- through tug-proxy (round-robin over the three pods);
- straight to one pod;
- through HAProxy (Debian's package, round-robin over the three pods, one process).

Each way is measured in every round, the order turned by one each round, and each wrk
run starts once few sockets are in TIME_WAIT, here and in the pods, which close first
and so hold them (bench/proxy/timewait.py). The figures are
the medians over the rounds: one 10-second run of a connection per request varied by a
third from run to run on this machine, with the same code.

Then the nftables mode, which programs the kernel of a host of its own, on a node made of
network namespaces (bench/proxy/nftables_lab.py): three wrk processes at once, all to a
NodePort through the proxy's rules, then one straight to each of the three pods through
the same node, in turn for the same rounds, medians again (--no-nftables skips it).

Then curl downloads the 1 GiB file through the proxy and straight from a pod, and the
MB/s are compared. wrk and haproxy are installed with apt-get when missing. Everything
the run starts is stopped at the end (processes by PID, containers by name, the pod
network when the run made it). It prints figures and ratios; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker

from bench.proxy import nftables_lab
from bench.proxy.timewait import settle
from bench.proxy.turns import Measured, in_turns
from client.api import ApiClient
from client.codec import from_dict
from kubelet.network.bridge import NETWORK, NETWORK_LABEL
from proto import core_pb2
from tests.support import pod_bridge
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import start_etcd
from tests.support.ports import free_port

NODE = "127.0.0.60"
HAPROXY_ADDRESS = "127.0.0.61"
HTTPD = (
    "mkdir -p /www && echo \"$HOSTNAME\" > /www/index.html && "
    "dd if=/dev/zero of=/www/big bs=1 count=0 seek={size}M 2>/dev/null && "
    "exec httpd -f -p 80 -h /www"
)


@dataclass
class WrkResult:
    """What wrk measured."""

    rps: float
    p99_ms: float
    errors: str = ""
    """wrk's "Socket errors" line, or "" when there were none: requests/s counts only
    answers, so a run with errors is not a like-for-like figure."""


def ensure_tools() -> None:
    """wrk and haproxy from Debian's packages, installed if missing."""
    missing = [t for t in ("wrk", "haproxy") if shutil.which(t) is None]
    if missing:
        print(f"installing {' '.join(missing)} with apt-get", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env,
                       stdout=subprocess.DEVNULL)


@contextmanager
def pods(count: int, size_mb: int) -> Iterator[list[tuple[str, tuple[str, ...]]]]:
    """`count` httpd containers on the pod network; each one's IP and the command prefix
    that enters its network namespace. Removed on exit, and the network too when this
    made it and nothing else came onto it."""
    client = docker.from_env()
    names = [f"tugboat-bench-proxy-{uuid.uuid4().hex[:6]}-{i}" for i in range(count)]
    made = not pod_bridge.exists()
    try:
        if made:
            client.networks.create(NETWORK, driver="bridge", labels={NETWORK_LABEL: "pods"})
        made_pods: list[tuple[str, tuple[str, ...]]] = []
        for name in names:
            c = client.containers.run(
                "busybox:1.35", ["sh", "-c", HTTPD.format(size=size_mb)], name=name,
                hostname=name, detach=True, network=NETWORK,
                labels={"io.tugboat.bench": "proxy"},
            )
            c.reload()
            ip = c.attrs["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
            pid = int(c.attrs["State"]["Pid"])
            if not ip or pid <= 0:
                raise RuntimeError(f"pod {name}: no address or no process ({ip!r}, {pid})")
            made_pods.append((ip, ("nsenter", f"--net=/proc/{pid}/ns/net")))
        yield made_pods
    finally:
        for name in names:
            try:
                client.containers.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass
        if made:
            pod_bridge.remove_if_empty()
        client.close()


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Until `url` answers 200 (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def wrk(url: str, duration: int, connections: int, prefix: tuple[str, ...] = ()) -> WrkResult:
    """Run wrk (after `prefix`, such as `ip netns exec NS`); requests per second and p99."""
    out = subprocess.run(
        [*prefix, "wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True, text=True, timeout=duration + 60, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Socket errors:\s*(.*)", out)
    return WrkResult(rps, float(value) * scale, errors.group(1).strip() if errors else "")


def rounds(
    urls: dict[str, str],
    count: int,
    duration: int,
    connections: int,
    servers: tuple[tuple[str, ...], ...] = (),
) -> dict[str, WrkResult]:
    """Each URL measured in turns (turns.py), every run from few sockets in TIME_WAIT
    here and in the namespaces `servers` enter; per URL, the median requests/s and the
    median p99."""

    def one(name: str) -> Measured:
        settle((), *servers)
        r = wrk(urls[name], duration, connections)
        return r.rps, r.p99_ms, f"socket errors: {r.errors}" if r.errors else ""

    medians = in_turns(list(urls), count, one)
    return {name: WrkResult(rps, p99) for name, (rps, p99) in medians.items()}


def download_mbps(url: str) -> float:
    """curl the URL to /dev/null; MB/s."""
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{speed_download}", url],
        capture_output=True, text=True, timeout=600, check=True,
    ).stdout
    return float(out) / 1e6


async def publish(server: str, ips: list[str], node_port: int) -> None:
    """The NodePort Service and its Endpoints (written directly: no controller runs)."""
    async with ApiClient([server]) as api:
        await api.create(from_dict(core_pb2.Service, {
            "metadata": {"name": "bench", "namespace": "default"},
            "spec": {"type": "NodePort", "selector": {"app": "bench"},
                     "ports": [{"port": 80, "nodePort": node_port}]},
        }))
        await api.create(from_dict(core_pb2.Endpoints, {
            "metadata": {"name": "bench", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 80}]}],
        }))


@contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess, stopped by its PID on exit."""
    with log.open("ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _pair(result: WrkResult) -> tuple[float, float]:
    return result.rps, result.p99_ms


def haproxy_config(port: int, ips: list[str]) -> str:
    servers = "\n".join(f"    server pod{i} {ip}:80" for i, ip in enumerate(ips))
    return f"""global
    maxconn 4096
    nbthread 1
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend bench
    bind {HAPROXY_ADDRESS}:{port}
    default_backend pods
backend pods
    balance roundrobin
{servers}
"""


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    p = argparse.ArgumentParser(prog="bench.proxy", description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--size-mb", type=int, default=1024, help="bulk transfer size")
    p.add_argument("--no-nftables", action="store_true", help="skip the nftables lab")
    p.add_argument("--rounds", type=int, default=3, help="wrk runs of each way, for medians")
    a = p.parse_args(argv)
    if a.rounds < 1:
        p.error(f"--rounds must be at least 1, not {a.rounds}")
    ensure_tools()
    work = Path(tempfile.mkdtemp(prefix="tugboat-bench-proxy-"))
    etcd = start_etcd(1)
    apiserver = None
    try:
        apiserver = ApiServerProcess.start(etcd.endpoints, name="bench-apiserver")
        node_port = 30000 + int(uuid.uuid4().int % 2768)
        with pods(3, a.size_mb) as made:
            ips = [ip for ip, _ in made]
            asyncio.run(publish(apiserver.endpoint, ips, node_port))
            exe = Path(sys.executable).parent / "tug-proxy"
            proxy_args = [str(exe) if exe.exists() else sys.executable,
                          *([] if exe.exists() else ["-m", "proxy.main"]),
                          "--node-name", "bench", "--address", NODE,
                          "--server", apiserver.endpoint, "--interface", "",
                          "--cluster-dns", "", "--dns-port", "-1", "--log-level", "warning"]
            ha_port = free_port(HAPROXY_ADDRESS)
            cfg = work / "haproxy.cfg"
            cfg.write_text(haproxy_config(ha_port, ips))
            with process(proxy_args, work / "proxy.log"), \
                    process(["haproxy", "-db", "-f", str(cfg)], work / "haproxy.log"):
                urls = {
                    "proxy": f"http://{NODE}:{node_port}/",
                    "direct": f"http://{ips[0]}/",
                    "haproxy": f"http://{HAPROXY_ADDRESS}:{ha_port}/",
                }
                for url in urls.values():
                    wait_http(url)
                results = rounds(
                    urls, a.rounds, a.duration, a.connections, tuple(ns for _, ns in made)
                )
                for name, r in results.items():
                    print(f"{name:8s} {r.rps:10.0f} req/s   p99 {r.p99_ms:8.2f} ms", flush=True)
                via_proxy = download_mbps(urls["proxy"] + "big")
                straight = download_mbps(urls["direct"] + "big")
                print(f"{a.size_mb} MiB through the proxy: {via_proxy:.0f} MB/s, "
                      f"straight: {straight:.0f} MB/s", flush=True)
            if not a.no_nftables:
                lab = nftables_lab.measure(
                    apiserver.endpoint,
                    30000 + (node_port + 1 - 30000) % 2768,
                    lambda url, prefix: _pair(wrk(url, a.duration, a.connections, prefix)),
                    a.rounds,
                )
                for name, (rps, p99) in lab.items():
                    print(f"{name:8s} {rps:10.0f} req/s   p99 {p99:8.2f} ms", flush=True)
                nft, lab_direct = lab["nftables"], lab["direct-lab"]
                print(f"ratio nftables/direct req/s: {nft[0] / lab_direct[0]:.2f}")
                print(f"ratio nftables/direct p99: {nft[1] / lab_direct[1]:.2f}")
        proxy, direct, ha = results["proxy"], results["direct"], results["haproxy"]
        print(f"ratio proxy/direct req/s: {proxy.rps / direct.rps:.2f}")
        print(f"ratio proxy/haproxy req/s: {proxy.rps / ha.rps:.2f}")
        print(f"ratio proxy/direct p99: {proxy.p99_ms / direct.p99_ms:.2f}")
        print(f"ratio proxy/haproxy p99: {proxy.p99_ms / ha.p99_ms:.2f}")
        print(f"ratio proxy/direct MB/s: {via_proxy / straight:.2f}")
    finally:
        if apiserver is not None:
            apiserver.stop()
        etcd.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

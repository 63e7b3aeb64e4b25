"""What container stats cost a kubelet: two kubelets side by side, stats on and off.

    .venv/bin/python -m bench.kubelet_stats [--pods 30] [--window 60]

Starts its own etcd and an in-process API server, then two `tug-kubelet` processes on
this machine's Docker, each running the same number of sleeping pods: one samples
container stats every 10 s (the default), the other runs with `--stats-period 0`. Over
the same window it reads each process's CPU time from /proc, and the stats kubelet's own
count of the CPU its collection took (tugboat_kubelet_stats_collection_cpu_seconds_total,
its threads' CPU). The headline ratio is that count over the stats-off kubelet's CPU
(goal: under 10 %); the difference of the two whole processes is printed beside it, but
at about 1 % of a core per kubelet it moves by tens of percent between runs (clock ticks,
garbage collection, the other core's load). Then it times scrapes of the stats kubelet's
/metrics/cadvisor and counts their samples. Prints figures, asserts nothing; every
process and container it made is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import ExitStack
from pathlib import Path

import docker

from client.api import ApiClient
from kubelet.runtime.interface import LABEL_NODE
from proto import core_pb2
from tests.integration.kubelet.pods import container, pod
from tests.support.apiserver import running_apiserver
from tests.support.cpu import cpu_seconds
from tests.support.etcd import start_etcd
from tests.support.ports import free_port


class KubeletProcess:
    """A `tug-kubelet` of its own node, stopped by its PID."""

    def __init__(self, node: str, server: str, stats_period: float, log_dir: Path) -> None:
        self.node = node
        self.http_port = free_port("127.0.0.1")
        exe = Path(sys.executable).parent / "tug-kubelet"
        self.log = (log_dir / f"{node}.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(exe), "--node-name", node, "--address", "127.0.0.1", "--server", server,
                "--port", str(free_port("127.0.0.1")), "--http-port", str(self.http_port),
                "--root-dir", str(log_dir / node), "--pod-cidr-mode", "docker",
                "--stats-period", str(stats_period), "--log-level", "warning",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


async def wait_running(api: ApiClient, names: set[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = await api.list("pods", "default")
        running = {
            p.metadata.name
            for p in listed.items
            if isinstance(p, core_pb2.Pod) and p.status.phase == "Running"
        }
        if names <= running:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"pods not Running after {timeout:.0f} s")


def scrape(port: int) -> tuple[float, int, int]:
    """Seconds, samples and bytes of one /metrics/cadvisor scrape."""
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics/cadvisor", timeout=10) as r:
        body = r.read()
    elapsed = time.monotonic() - started
    samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return elapsed, samples, len(body)


def collection_cpu(port: int) -> float:
    """The kubelet's own count of the CPU its stats collection took (its threads' CPU)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("tugboat_kubelet_stats_collection_cpu_seconds_total "):
                return float(line.split()[1])
    raise AssertionError("the kubelet reports no tugboat_kubelet_stats_collection_cpu_seconds")


def remove_node_containers(nodes: list[str]) -> None:
    client = docker.from_env()
    try:
        for node in nodes:
            for c in client.api.containers(all=True, filters={"label": [f"{LABEL_NODE}={node}"]}):
                client.api.remove_container(c["Id"], force=True)
    finally:
        client.close()


async def main(pods: int, window: float) -> None:
    run = uuid.uuid4().hex[:6]
    on, off = f"bench-stats-on-{run}", f"bench-stats-off-{run}"
    # Undone in reverse, each step even when one before it raised: the kubelets stop,
    # their containers go, then their logs and root directories, then etcd.
    with ExitStack() as undo:
        etcd = start_etcd(1)
        undo.callback(etcd.stop)
        log_dir = Path(tempfile.mkdtemp(prefix="tugboat-bench-stats-"))
        undo.callback(shutil.rmtree, log_dir, ignore_errors=True)
        undo.callback(remove_node_containers, [on, off])
        async with running_apiserver(etcd.endpoints, http=False) as server:
            api = ApiClient([server.endpoint])
            kubelets: list[KubeletProcess] = []
            for node, stats_period in ((on, 10.0), (off, 0.0)):
                kubelets.append(KubeletProcess(node, server.endpoint, stats_period, log_dir))
                undo.callback(kubelets[-1].stop)
            names: set[str] = set()
            for node in (on, off):
                for i in range(pods):
                    sleeper = container("main", "sleep", "3600")
                    await api.create(pod(f"{node}-{i}", node, sleeper, grace=0))
                    names.add(f"{node}-{i}")
            await wait_running(api, names)
            await asyncio.sleep(10)  # let the start-up settle before measuring
            before = {k.node: cpu_seconds(k.process.pid) for k in kubelets}
            counted_before = collection_cpu(kubelets[0].http_port)
            started = time.monotonic()
            await asyncio.sleep(window)
            measured = time.monotonic() - started
            spent = {k.node: cpu_seconds(k.process.pid) - before[k.node] for k in kubelets}
            counted = collection_cpu(kubelets[0].http_port) - counted_before
            scrapes = [await asyncio.to_thread(scrape, kubelets[0].http_port) for _ in range(20)]
            await api.close()
    times = [s[0] for s in scrapes]
    print(f"pods: {pods} per kubelet, window {measured:.0f} s, stats every 10 s on one kubelet")
    print(
        f"kubelet CPU: stats on {spent[on]:.2f} s ({100 * spent[on] / measured:.1f} % of a core), "
        f"stats off {spent[off]:.2f} s ({100 * spent[off] / measured:.1f} % of a core)"
    )
    print(
        f"/metrics/cadvisor scrape: median {1000 * statistics.median(times):.1f} ms, "
        f"max {1000 * max(times):.1f} ms, {scrapes[0][1]} samples, {scrapes[0][2]} bytes"
    )
    print(
        f"collection CPU counted by the kubelet: {1000 * counted:.0f} ms in the window "
        f"({1000 * counted / max(1, round(measured / 10)):.1f} ms a round)"
    )
    share = counted / spent[off] if spent[off] > 0 else float("nan")
    difference = (spent[on] - spent[off]) / spent[off] if spent[off] > 0 else float("nan")
    print(f"ratio stats-collection CPU / stats-off kubelet CPU: {share:.3f} (goal < 0.10)")
    print(f"side by side, (stats-on - stats-off) / stats-off kubelet CPU: {difference:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--window", type=float, default=60.0)
    a = parser.parse_args()
    asyncio.run(main(a.pods, a.window))

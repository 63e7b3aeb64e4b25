"""Real hosts against loopback: the same measurements on a `--driver docker` cluster and on
the default process cluster, side by side in one run.

    .venv/bin/python -m bench.hosts [--pods 30] [--only docker|process]

Both clusters have 3 masters and 3 workers (the docker one with 3 etcd members, as the
chaos tests run it). For each it prints:
- the time from `tug apply` of a 30-replica Deployment to all 30 pods Running;
- node death: the worker holding a pod of a 3-replica web app dies (`docker kill` of its
  container; on loopback its kubelet and proxy are killed -9 and its containers removed),
  until 3 ready pods run elsewhere;
- partition: a worker is cut off (`docker network disconnect`; on loopback its kubelet
  and proxy are stopped with SIGSTOP, the nearest thing there), until 3 ready pods run
  elsewhere;
- idle memory: the cluster with nothing deployed, from `docker stats` for the node
  containers, from the processes' RSS plus `docker stats` of their containers on loopback.

Then a ratio per figure, docker ÷ loopback. Nothing is asserted: a benchmark prints.
The clusters come up one after the other, never together, so neither slows the other.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from client.api import ApiClient
from tests.chaos.helpers import nodes_ready, pods, ready_pods, web_app
from tests.support.cluster import Cluster, running_cluster
from tests.support.container_cluster import (
    ContainerCluster,
    docker,
    running_container_cluster,
)
from tests.support.waiting import eventually

MASTERS, WORKERS = 3, 3

SLEEPERS = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: sleepers}}
spec:
  replicas: {pods}
  selector: {{matchLabels: {{app: sleepers}}}}
  template:
    metadata: {{labels: {{app: sleepers}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: sleep
        image: busybox:1.35
        command: ["sleep", "3600"]
"""


class Hosts(Protocol):
    """What a measurement needs from a cluster, whichever driver runs it."""

    label: str
    servers: list[str]
    workers: list[str]

    def tug(self, *argv: str, stdin: str = "") -> str: ...
    def client(self) -> ApiClient: ...
    def kill_node(self, node: str) -> None: ...
    def revive_node(self, node: str) -> None: ...
    def cut_off(self, node: str) -> None: ...
    def reconnect(self, node: str) -> None: ...
    def memory_mib(self) -> float: ...


def _container_memory_mib(ids: list[str]) -> float:
    """The sum of `docker stats` memory usage of the given containers, in MiB.

    One container at a time: on this engine `docker stats` of a container that shares
    another's network namespace (a pod's app container) can fail with EOF, and one such
    failure must not lose the others' figures. Those count as 0 (their pause container,
    which holds the namespace, is counted).
    """
    total = 0.0
    for container in ids:
        out = docker(
            "stats", "--no-stream", "--format", "{{.MemUsage}}", container, timeout=60, check=False
        )
        found = re.match(r"\s*([\d.]+)\s*([KMG]?i?B)", out)
        if found:
            number, unit = float(found.group(1)), found.group(2)
            total += number * {"B": 2.0**-20, "KiB": 2.0**-10, "MiB": 1.0, "GiB": 2.0**10}[unit]
    return total


@dataclass
class DockerHosts:
    """A `tug up --driver docker` cluster: every node a container with its own IP."""

    cluster: ContainerCluster
    label: str = "docker"
    servers: list[str] = field(init=False)
    workers: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.servers = [f"{self.cluster.ip(m)}:6443" for m in self.cluster.master_names]
        self.workers = list(self.cluster.worker_names)

    def tug(self, *argv: str, stdin: str = "") -> str:
        return self.cluster.tug(*argv, stdin=stdin).ok()

    def client(self) -> ApiClient:
        return self.cluster.client(self.servers)

    def kill_node(self, node: str) -> None:
        docker("kill", node)

    def revive_node(self, node: str) -> None:
        docker("start", node)

    def cut_off(self, node: str) -> None:
        docker("network", "disconnect", f"tug-{self.cluster.name}", node)

    def reconnect(self, node: str) -> None:
        docker("network", "connect", f"tug-{self.cluster.name}", node)

    def memory_mib(self) -> float:
        names = self.cluster.master_names + self.cluster.worker_names
        return _container_memory_mib(names)


@dataclass
class ProcessHosts:
    """The default driver: every component a process on a loopback address."""

    cluster: Cluster
    label: str = "process"
    servers: list[str] = field(init=False)
    workers: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.servers = self.cluster.servers
        self.workers = [self.cluster.node_name(j) for j in range(self.cluster.nodes)]

    def _index(self, node: str) -> int:
        return self.workers.index(node)

    def tug(self, *argv: str, stdin: str = "") -> str:
        return self.cluster.tug(*argv, stdin=stdin).ok()

    def client(self) -> ApiClient:
        return self.cluster.client()

    def _signal(self, node: str, sig: signal.Signals) -> None:
        j = self._index(node)
        for name in (f"kubelet-{j}", f"proxy-{j}"):
            self.cluster.kill(name, sig)

    def kill_node(self, node: str) -> None:
        self._signal(node, signal.SIGKILL)
        self.cluster.remove_containers(self._index(node))

    def revive_node(self, node: str) -> None:
        j = self._index(node)
        for name in (f"kubelet-{j}", f"proxy-{j}"):
            self.cluster.restart(name)

    def cut_off(self, node: str) -> None:
        self._signal(node, signal.SIGSTOP)

    def reconnect(self, node: str) -> None:
        self._signal(node, signal.SIGCONT)

    def memory_mib(self) -> float:
        rss = 0.0
        for record in self.cluster.records():
            status = Path(f"/proc/{record.pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1]) / 1024
        return rss + _container_memory_mib(self.cluster.containers())


async def _timed(start: Callable[[], object], done: Callable[[], Awaitable[bool]]) -> float:
    began = time.monotonic()
    await asyncio.to_thread(start)
    await eventually(done, timeout=300, interval=0.25, what="the cluster to recover")
    return time.monotonic() - began


async def _pods_running(hosts: Hosts, api: ApiClient, count: int) -> float:
    async def all_running() -> bool:
        running = [p for p in await pods(api, "app=sleepers") if p.status.phase == "Running"]
        return len(running) == count

    took = await _timed(
        lambda: hosts.tug("apply", "-f", "-", stdin=SLEEPERS.format(pods=count)), all_running
    )
    await asyncio.to_thread(hosts.tug, "delete", "deployment", "sleepers")
    await eventually(lambda: _none_left(api, "app=sleepers"), timeout=180, what="the sleepers gone")
    return took


async def _none_left(api: ApiClient, selector: str) -> bool:
    return not await pods(api, selector)


async def _moved(
    hosts: Hosts,
    api: ApiClient,
    name: str,
    port: int,
    fault: Callable[[str], None],
    heal: Callable[[str], None],
) -> float:
    """Seconds from `fault` on the node of one of `name`'s pods to 3 ready pods elsewhere."""
    await asyncio.to_thread(hosts.tug, "apply", "-f", "-", stdin=web_app(name, 3, port))
    await asyncio.to_thread(
        hosts.tug, "rollout", "status", f"deployment/{name}", "--timeout", "180s"
    )
    victim = sorted({p.spec.node_name for p in await ready_pods(api, f"app={name}")})[-1]

    async def elsewhere() -> bool:
        ready = await ready_pods(api, f"app={name}")
        return len(ready) == 3 and all(p.spec.node_name != victim for p in ready)

    try:
        return await _timed(lambda: fault(victim), elsewhere)
    finally:
        await asyncio.to_thread(heal, victim)
        await eventually(
            lambda: nodes_ready(api, hosts.workers), timeout=180, what=f"{victim} Ready"
        )
        await asyncio.to_thread(
            hosts.tug, "delete", "deployment,service", name, "--ignore-not-found"
        )
        await eventually(lambda: _none_left(api, f"app={name}"), timeout=180, what="gone")


async def measure(hosts: Hosts, count: int) -> dict[str, float]:
    """Every figure of one cluster."""
    figures: dict[str, float] = {}
    async with hosts.client() as api:
        await eventually(
            lambda: nodes_ready(api, hosts.workers), timeout=180, what="every node Ready"
        )
        # Idle first: nothing deployed yet, every component settled.
        samples = [await asyncio.to_thread(hosts.memory_mib) for _ in range(3)]
        figures["idle_memory_mib"] = statistics.median(samples)
        figures["pods_running_s"] = await _pods_running(hosts, api, count)
        figures["node_death_s"] = await _moved(
            hosts, api, "deathbench", 30101, hosts.kill_node, hosts.revive_node
        )
        figures["partition_s"] = await _moved(
            hosts, api, "cutbench", 30102, hosts.cut_off, hosts.reconnect
        )
    for key, value in figures.items():
        print(f"{hosts.label:8} {key:18} {value:8.1f}", flush=True)
    return figures


def _run(make: Callable[[], AbstractContextManager[Hosts]], count: int) -> dict[str, float]:
    started = time.monotonic()
    with make() as hosts:
        print(f"{hosts.label} cluster up in {time.monotonic() - started:.1f} s", flush=True)
        return asyncio.run(measure(hosts, count))


class _Wrapped(AbstractContextManager[Hosts]):
    def __init__(self, inner: AbstractContextManager[Cluster | ContainerCluster]) -> None:
        self.inner = inner

    def __enter__(self) -> Hosts:
        cluster = self.inner.__enter__()
        if isinstance(cluster, ContainerCluster):
            return DockerHosts(cluster)
        return ProcessHosts(cluster)

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--only", choices=["docker", "process"])
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-hosts-"))
    results: dict[str, dict[str, float]] = {}
    if args.only in (None, "process"):
        results["process"] = _run(
            lambda: _Wrapped(
                running_cluster(home / "process", name="bh", masters=MASTERS, nodes=WORKERS)
            ),
            args.pods,
        )
    if args.only in (None, "docker"):
        results["docker"] = _run(
            lambda: _Wrapped(
                running_container_cluster(
                    home / "docker", masters=MASTERS, workers=WORKERS, etcd_members=3
                )
            ),
            args.pods,
        )
    if len(results) == 2:
        print("\nfigure              process   docker   docker/process")
        for key, loop in results["process"].items():
            real = results["docker"][key]
            print(f"{key:18} {loop:8.1f} {real:8.1f}   ratio {key}: {real / loop:.2f}")


if __name__ == "__main__":
    main()

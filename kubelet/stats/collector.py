"""Periodic stats collection for one node, and the usage rates `tug top` shows.

Like the kubelet's cAdvisor housekeeping, one loop per node samples every running
container every `period` seconds and keeps the last two samples: Prometheus scrapes the
newer one's cumulative counters (and computes its own rates), while the metrics API
answers with the CPU rate between the two, as metrics-server does between two scrapes.
A scrape or a `tug top` therefore never triggers collection: the cost is fixed by the
period, whatever reads the figures and however often.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from client.timeouts import wait_event
from kubelet import metrics
from kubelet.pods.pleg import ContainerCache
from kubelet.runtime.interface import ContainerInfo, ContainerRuntime, ContainerStats

log = structlog.get_logger("kubelet.stats")


@dataclass(frozen=True)
class Sample:
    """Every running container's usage, and the node's, at one moment."""

    monotonic: float
    wall: float
    node: ContainerStats
    containers: dict[str, tuple[ContainerInfo, ContainerStats]]
    """Container id → (the container, its usage)."""


@dataclass(frozen=True)
class Usage:
    """A CPU rate over the window and the memory working set at its end."""

    cpu_nano_cores: int
    memory_working_set_bytes: int


@dataclass(frozen=True)
class ContainerUsage:
    """One app or init container's usage, with the pod it belongs to."""

    namespace: str
    pod: str
    container: str
    usage: Usage


@dataclass(frozen=True)
class NodeUsage:
    """What the metrics API serves for a node: its usage and its containers'."""

    node: str
    wall: float
    window: float
    usage: Usage
    containers: list[ContainerUsage]


def _rate(newer: ContainerStats, older: ContainerStats, window: float) -> Usage:
    cpu = max(0.0, newer.cpu_seconds - older.cpu_seconds) / window
    return Usage(round(cpu * 1e9), newer.memory_working_set_bytes)


class StatsCollector:
    """Samples one node's containers every `period` seconds until cancelled."""

    def __init__(
        self,
        runtime: ContainerRuntime,
        cache: ContainerCache,
        node: str,
        period: float,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.cache = cache
        self.node = node
        self.period = period
        self.wall = wall
        self.clock = clock
        self.cpu_cores = 0.0
        """The machine's logical cores, once the kubelet has asked the runtime."""
        self.latest: Sample | None = None
        self.previous: Sample | None = None
        self._wake = asyncio.Event()
        """Never set: the loop waits on it for one period (and a test may set it)."""

    async def run(self) -> None:
        """Collect every period; a failed round is logged and the next one tries again."""
        await wait_event(self.cache.synced, 30)
        while True:
            try:
                await self.collect()
            except Exception as e:
                log.warning("stats collection failed", node=self.node, error=str(e))
            await wait_event(self._wake, self.period)

    async def collect(self) -> Sample:
        """Take one sample now; it becomes `latest`."""
        started = time.monotonic()
        cpu = time.thread_time()
        running = [
            c for uid in self.cache.pod_uids() for c in self.cache.containers(uid) if c.running
        ]
        spent = time.thread_time() - cpu
        found = await self.runtime.stats(running)
        node = await self.runtime.node_stats()
        cpu = time.thread_time()
        by_id = {c.id: c for c in running}
        sample = Sample(
            monotonic=self.clock(),
            wall=self.wall(),
            node=node,
            containers={cid: (by_id[cid], s) for cid, s in found.items() if cid in by_id},
        )
        self.previous, self.latest = self.latest, sample
        # The event loop's share; the runtime counts what its reading thread spends.
        metrics.STATS_CPU_SECONDS.inc(spent + time.thread_time() - cpu)
        metrics.STATS_COLLECTION_SECONDS.observe(time.monotonic() - started)
        return sample

    def usage(self) -> NodeUsage | None:
        """Rates between the last two samples; None until there are two."""
        newer, older = self.latest, self.previous
        if newer is None or older is None:
            return None
        window = newer.monotonic - older.monotonic
        if window <= 0:
            return None
        containers: list[ContainerUsage] = []
        for cid, (info, stats) in newer.containers.items():
            before = older.containers.get(cid)
            if info.kind == "sandbox" or before is None:
                continue
            containers.append(
                ContainerUsage(
                    info.pod.namespace, info.pod.name, info.name, _rate(stats, before[1], window)
                )
            )
        return NodeUsage(
            node=self.node,
            wall=newer.wall,
            window=window,
            usage=_rate(newer.node, older.node, window),
            containers=containers,
        )

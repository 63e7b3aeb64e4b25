"""Usage of a Docker node's containers: from the kernel where visible, else from the engine.

The kernel's files (kubelet/runtime/cgroups.py) are read first: they are cheap. Where the
kubelet cannot see a container's process or cgroups (a node container with its own PID
or cgroup namespace talking to an outer engine), the engine's one-shot stats API answers
instead, at the cost of one HTTP call per container. The writable layer's size needs a
walk of its files, which the engine does for a container listing with `size=true`: that
is asked once a minute per node (cAdvisor refreshes disk usage lazily too), and a new
container is measured once on its own so that it has a figure from its first sample.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import docker.errors

from kubelet import metrics
from kubelet.runtime import cgroups
from kubelet.runtime.interface import ContainerInfo, ContainerStats

FS_USAGE_PERIOD = 60.0
"""Seconds between two measurements of the writable layers' sizes."""


def engine_stats(doc: dict[str, Any]) -> ContainerStats:
    """ContainerStats from one document of Docker's stats API (cgroup v1 or v2 engine)."""
    cpu = doc.get("cpu_stats") or {}
    memory = doc.get("memory_stats") or {}
    mstat = memory.get("stats") or {}
    usage = int(memory.get("usage", 0))
    inactive = int(mstat.get("total_inactive_file", mstat.get("inactive_file", 0)))
    rx_b = rx_p = tx_b = tx_p = 0
    for net in (doc.get("networks") or {}).values():
        rx_b += int(net.get("rx_bytes", 0))
        rx_p += int(net.get("rx_packets", 0))
        tx_b += int(net.get("tx_bytes", 0))
        tx_p += int(net.get("tx_packets", 0))
    return ContainerStats(
        cpu_seconds=int((cpu.get("cpu_usage") or {}).get("total_usage", 0)) / 1e9,
        memory_usage_bytes=usage,
        memory_working_set_bytes=max(0, usage - inactive),
        memory_rss_bytes=int(mstat.get("total_rss", mstat.get("anon", 0))),
        rx_bytes=rx_b,
        rx_packets=rx_p,
        tx_bytes=tx_b,
        tx_packets=tx_p,
    )


class DockerStatsReader:
    """Reads one node's container usage; blocking: run `read` on a worker thread."""

    def __init__(
        self,
        api: Any,
        node_filter: dict[str, list[str]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        """docker.APIClient."""
        self.node_filter = node_filter
        self.clock = clock
        self._files: dict[str, cgroups.CgroupFiles | None] = {}
        self._fs: dict[str, int] = {}
        self._fs_measured: float | None = None

    def read(self, containers: Sequence[ContainerInfo]) -> dict[str, ContainerStats]:
        """Usage of each running container by id; those gone meanwhile are left out."""
        started = time.thread_time()
        try:
            return self._read(containers)
        finally:
            metrics.STATS_CPU_SECONDS.inc(time.thread_time() - started)

    def _read(self, containers: Sequence[ContainerInfo]) -> dict[str, ContainerStats]:
        running = [c for c in containers if c.running]
        self._refresh_fs_usage()
        for c in running:
            if c.id not in self._fs:
                self._measure_new(c.id)
        out: dict[str, ContainerStats] = {}
        for c in running:
            found = self._kernel(c)
            if found is None:
                found = self._engine(c)
                if found is not None:
                    found = replace(found, fs_usage_bytes=self._fs.get(c.id))
            if found is not None:
                out[c.id] = found
        live = {c.id for c in running}
        for gone in [k for k in self._files if k not in live]:
            del self._files[gone]
        return out

    def _kernel(self, c: ContainerInfo) -> ContainerStats | None:
        if not c.pid:
            return None
        if c.id not in self._files:
            paths = cgroups.process_cgroups(c.pid)
            self._files[c.id] = cgroups.cgroup_files(paths) if paths is not None else None
        files = self._files[c.id]
        if files is None:
            return None
        fs = self._fs.get(c.id)
        net = cgroups.network_usage(c.pid) if c.kind == "sandbox" else None
        if net is None:
            return cgroups.read_usage(files, fs_usage_bytes=fs)
        rx_b, rx_p, tx_b, tx_p = net
        return cgroups.read_usage(
            files, rx_bytes=rx_b, rx_packets=rx_p, tx_bytes=tx_b, tx_packets=tx_p,
            fs_usage_bytes=fs,
        )

    def _engine(self, c: ContainerInfo) -> ContainerStats | None:
        try:
            doc = self.api.stats(c.id, stream=False, one_shot=True)
        except docker.errors.NotFound:
            return None
        found = engine_stats(doc)
        # App containers share their sandbox's network namespace: count it once, there.
        if c.kind == "sandbox":
            return found
        return replace(found, rx_bytes=0, rx_packets=0, tx_bytes=0, tx_packets=0)

    def _measure_new(self, container_id: str) -> None:
        """A container started since the last listing: measured once on its own."""
        rows = self.api.containers(all=True, size=True, filters={"id": [container_id]})
        for r in rows:
            self._fs[str(r["Id"])] = int(r.get("SizeRw") or 0)

    def _refresh_fs_usage(self) -> None:
        now = self.clock()
        if self._fs_measured is not None and now - self._fs_measured < FS_USAGE_PERIOD:
            return
        self._fs_measured = now
        rows = self.api.containers(all=False, size=True, filters=self.node_filter)
        self._fs = {str(r["Id"]): int(r.get("SizeRw") or 0) for r in rows}


def node_usage() -> ContainerStats:
    """The node's root cgroup; zeros when not even that can be read."""
    found = cgroups.root_usage()
    return found if found is not None else ContainerStats(0.0, 0, 0)

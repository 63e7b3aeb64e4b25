"""The pod lifecycle event generator: one relist of the node's containers per period.

Like Kubernetes' PLEG, a single list call per second (plus an inspect per container
state change, cached by the runtime) serves every pod worker, instead of each worker
polling the engine. A relist that finds a pod's containers changed wakes that pod's
worker; a worker that just acted asks for a fresh relist with `fresh()`, and one that did
not act since the last relist showing its doings reads that relist as it is (a relist
forced by each of thirty workers woken by the last one would keep the engine listing).

A runtime that reports its changes (`ReportsChanges`, the fake one) gets a relist at each
report instead, and the periodic one only every `EVENTED_RELIST_PERIOD`, as Kubernetes'
evented PLEG keeps a 300 s relist as its safety net.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from client.timeouts import wait_event, within
from kubelet import metrics
from kubelet.runtime.interface import ContainerInfo, ContainerRuntime, ReportsChanges

log = structlog.get_logger("kubelet.pleg")

EVENTED_RELIST_PERIOD = 300.0
"""Seconds between relists for a runtime that reports its changes (Kubernetes' evented
PLEG relists as rarely)."""


class ContainerCache:
    """The node's containers as of the latest relist, grouped by pod UID."""

    def __init__(
        self, runtime: ContainerRuntime, on_change: Callable[[str], None], period: float = 1.0
    ) -> None:
        self.runtime = runtime
        self.on_change = on_change
        self.period = period
        self.generation = 0
        self._by_pod: dict[str, list[ContainerInfo]] = {}
        self._wake = asyncio.Event()
        if isinstance(runtime, ReportsChanges):
            runtime.on_change(self._wake.set)
            self.period = max(period, EVENTED_RELIST_PERIOD)
        self._done = asyncio.Condition()
        self._relisting = False
        self._pods = 0
        self._containers: dict[str, int] = {}
        self._last_relist: float | None = None
        self.listed = 0
        """The generation of the last relist that succeeded (a failed one counts in
        `generation` too, so that waiters go on)."""
        self.synced = asyncio.Event()

    def containers(self, uid: str) -> list[ContainerInfo]:
        """The pod's containers (sandbox included) as of the last relist."""
        return list(self._by_pod.get(uid, []))

    def pod_uids(self) -> set[str]:
        """Every pod UID that has containers on this node."""
        return set(self._by_pod)

    def next_generation(self) -> int:
        """The generation of the first relist that starts after this call: the first to
        show whatever was done to the containers before it."""
        return self.generation + (2 if self._relisting else 1)

    async def fresh(self, timeout: float = 10.0, want: int = 0) -> None:
        """Return once a relist that started after this call (or the relist `want`, an
        earlier `next_generation()`) has finished."""
        want = want or self.next_generation()
        if self.generation >= want:
            return
        self._wake.set()
        async with self._done:
            await within(self._done.wait_for(lambda: self.generation >= want), timeout)

    async def run(self) -> None:
        """Relist every period, or sooner when asked, until cancelled."""
        while True:
            try:
                await self.relist()
            except Exception as e:
                log.warning("relist failed", node=self.runtime.node, error=str(e))
                # Let waiters go on with the last known state rather than hang.
                async with self._done:
                    self.generation += 1
                    self._done.notify_all()
            await wait_event(self._wake, self.period)
            self._wake.clear()

    async def relist(self) -> None:
        """List the containers once and wake the workers of pods whose containers changed."""
        self._relisting = True
        try:
            started = time.monotonic()
            if self._last_relist is not None:
                metrics.PLEG_RELIST_INTERVAL_SECONDS.observe(started - self._last_relist)
            self._last_relist = started
            found = await self.runtime.list_containers()
            metrics.PLEG_RELIST_SECONDS.observe(time.monotonic() - started)
            by_pod: dict[str, list[ContainerInfo]] = {}
            for c in found:
                by_pod.setdefault(c.pod.uid, []).append(c)
            changed = [
                uid
                for uid in set(by_pod) | set(self._by_pod)
                if _fingerprint(by_pod.get(uid, [])) != _fingerprint(self._by_pod.get(uid, []))
            ]
            self._by_pod = by_pod
            self._count(found)
            if time.monotonic() - started > 5:
                log.warning(
                    "slow relist", node=self.runtime.node, seconds=time.monotonic() - started
                )
        finally:
            self._relisting = False
        async with self._done:
            self.generation += 1
            self.listed = self.generation
            self._done.notify_all()
        self.synced.set()
        for uid in changed:
            self.on_change(uid)

    def _count(self, found: list[ContainerInfo]) -> None:
        # Gauges are shared by every simulated node of the process: apply this node's delta.
        pods = sum(1 for c in found if c.kind == "sandbox" and c.running)
        containers: dict[str, int] = {}
        for c in found:
            if c.kind != "sandbox":
                containers[c.state] = containers.get(c.state, 0) + 1
        metrics.RUNNING_PODS.inc(pods - self._pods)
        for state in set(containers) | set(self._containers):
            delta = containers.get(state, 0) - self._containers.get(state, 0)
            metrics.RUNNING_CONTAINERS.labels(container_state=state).inc(delta)
        self._pods, self._containers = pods, containers

    def forget_counts(self) -> None:
        """Take this node's share out of the shared gauges (on shutdown)."""
        self._count([])


def _fingerprint(containers: list[ContainerInfo]) -> set[tuple[str, str]]:
    return {(c.id, c.state) for c in containers}

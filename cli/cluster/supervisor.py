"""Bringing a local cluster up tier by tier, and down again by the recorded PIDs.

Each tier (etcd, then each master role, then each node role) is started and waited
for before the next, so a process never starts before what it depends on answers.
The state file is rewritten after every process started: if `tug up` itself dies
half-way, `tug down` still finds everything it had started.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from cli.cluster import processes, state
from cli.cluster.components import Component
from cli.cluster.layout import Layout
from cli.cluster.processes import Record
from cli.cluster.state import State
from cli.errors import CliError

log = structlog.get_logger("tug.cluster")

READY_TIMEOUT = 60.0
"""Seconds a tier has to become ready."""


class Supervisor:
    """Starts components for one cluster and keeps its state file current."""

    def __init__(self, layout: Layout, current: State) -> None:
        self.layout = layout
        self.state = current

    async def start(self, component: Component) -> Record:
        """Spawn one component (detached) and record it."""
        record = await asyncio.to_thread(
            processes.spawn,
            component.name,
            component.argv,
            self.layout.logs / f"{component.name}.log",
            self.layout.root,
            component.ports,
        )
        self.state.processes.append(record)
        state.save(self.layout, self.state)
        return record

    async def start_tier(
        self,
        tier: list[Component],
        *,
        timeout: float = READY_TIMEOUT,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Start every component of a tier, then wait until each is ready."""
        started = [(c, await self.start(c)) for c in tier]
        await asyncio.gather(*(self._wait_ready(c, r, timeout) for c, r in started))
        if progress is not None:
            for c, r in started:
                where = f", port {c.ports[0]}" if c.ports else ""
                progress(f"  {c.name} ready (pid {r.pid}{where})")

    async def _wait_ready(self, component: Component, record: Record, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            if not processes.alive(record):
                tail = processes.log_tail(record)
                raise CliError(
                    f"{component.name} exited during start-up; the end of {record.log}:\n{tail}"
                )
            if await component.ready():
                log.info("ready", key=component.name, pid=record.pid)
                return
            if time.monotonic() >= deadline:
                raise CliError(
                    f"{component.name} was not ready within {timeout:g}s; see {record.log}"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def stop(self) -> list[Record]:
        """Stop every recorded process; the ones that would not stop."""
        survivors = await processes.stop_all(self.state.processes)
        if survivors:
            self.state.processes = [r for r in self.state.processes if r in survivors]
            state.save(self.layout, self.state)
        else:
            state.remove(self.layout)
        return survivors

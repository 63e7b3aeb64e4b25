"""The fake runtime: no containers, only bookkeeping, for simulating many nodes in one process.

A container "starts" after `start_delay` seconds and then runs until stopped; exec
commands (and so exec probes) succeed. Each running container uses a millicore and
4 MiB, so simulated nodes feed `tug top` and the container metrics plausible figures.
Pod IPs come from 10.<node-number>.x.y so they look plausible and never collide between
simulated nodes of one process.

Nothing changes a fake container but a call to this runtime, so it reports every change
(`ReportsChanges`) and the PLEG need not relist each second: with thousands of simulated
nodes in one process, those relists were most of an idle process's wake-ups.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace

from client.timestamps import now
from kubelet.runtime import interface as rt

_node_numbers = itertools.count(1)
_FAKE_CPU_CORES = 0.001
_FAKE_MEMORY = 4 << 20
_NODE_BASE_MEMORY = 256 << 20


class FakeExec:
    """An exec that prints nothing and exits 0."""

    async def write(self, data: bytes) -> None:
        """Discard input."""

    async def close_stdin(self) -> None:
        """Nothing to close."""

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """No output."""
        return
        yield  # pragma: no cover

    async def exit_code(self) -> int:
        """Always success."""
        return 0

    async def close(self) -> None:
        """Nothing to release."""


class FakeRuntime:
    """ContainerRuntime that only pretends: containers are records in a dict."""

    def __init__(
        self,
        node: str,
        *,
        start_delay: float = 0.0,
        missing_images: set[str] | None = None,
        runtime_handlers: set[str] | None = None,
    ):
        self.node = node
        self.start_delay = start_delay
        self.missing_images = missing_images or set()
        self.runtime_handlers = runtime_handlers
        """The RuntimeClass handlers this node knows; None: every one (a simulated node
        pretends to have whatever runtime its pods ask for)."""
        self.sandbox_handlers: dict[str, str] = {}
        """Each sandbox's handler, by sandbox id ("" the default)."""
        self.container_handlers: dict[str, str] = {}
        """The handler each other container was started with, by container id."""
        self.pull_auths: dict[str, rt.RegistryAuth | None] = {}
        """The credentials each image was last pulled with."""
        self._containers: dict[str, rt.ContainerInfo] = {}
        self._number = next(_node_numbers)
        self._ips = itertools.count(2)
        self._started: dict[str, float] = {}
        self._born = time.monotonic()
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every change to the containers."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    async def version(self) -> rt.VersionInfo:
        """A plausible mid-sized machine."""
        return rt.VersionInfo(
            "fake://1.0", "linux", "amd64", "fake", "Tugboat fake node", 4000, 8 << 30
        )

    def _next_ip(self) -> str:
        n = next(self._ips)
        return f"10.{self._number % 250 + 1}.{n // 250 % 250}.{n % 250 + 1}"

    async def ensure_sandbox(
        self,
        pod: rt.PodRef,
        hostname: str,
        attempt: int,
        dns_policy: str = "",
        naming: rt.PodNaming | None = None,
        runtime_handler: str = "",
    ) -> rt.ContainerInfo:
        """A sandbox record with a fresh IP; refused, as a real engine refuses it, for a
        handler the node was not given."""
        known = self.runtime_handlers
        if runtime_handler and known is not None and runtime_handler not in known:
            raise rt.UnknownRuntimeHandler(runtime_handler)
        info = rt.ContainerInfo(
            id=uuid.uuid4().hex,
            pod=pod,
            name=rt.SANDBOX_NAME,
            kind="sandbox",
            attempt=attempt,
            image="tugboat/pause:1",
            image_id="sha256:fake",
            state="running",
            created_at=now(),
            started_at=now(),
            ip=self._next_ip(),
            runtime_handler=runtime_handler,
        )
        self._containers[info.id] = info
        self.sandbox_handlers[info.id] = runtime_handler
        self._changed()
        return info

    async def image_present(self, image: str) -> bool:
        """Every image is present except the ones configured missing."""
        return image not in self.missing_images

    async def pull_image(self, image: str, auth: rt.RegistryAuth | None = None) -> None:
        """Pulls always succeed for images not configured missing (and record `auth`)."""
        self.pull_auths[image] = auth
        if image in self.missing_images:
            raise rt.ImagePullError(f"pull access denied for {image}")

    async def start_container(
        self, pod: rt.PodRef, sandbox: rt.ContainerInfo, config: rt.ContainerConfig
    ) -> rt.ContainerInfo:
        """Running after `start_delay` seconds. A PID namespace is joined only while its
        container runs, as Docker refuses one that does not."""
        if self.start_delay:
            await asyncio.sleep(self.start_delay)
        if config.pid_mode == "target":
            target = self._containers.get(config.pid_target)
            if target is None or not target.running:
                raise rt.RuntimeFailure(
                    f"starting container {config.name}: cannot join the PID namespace of "
                    f"container {config.pid_target}: it is not running"
                )
        info = rt.ContainerInfo(
            id=uuid.uuid4().hex,
            pod=pod,
            name=config.name,
            kind=config.kind,
            attempt=config.attempt,
            image=config.image,
            image_id="sha256:fake",
            state="running",
            created_at=now(),
            started_at=now(),
        )
        self._containers[info.id] = info
        self.container_handlers[info.id] = config.runtime_handler
        self._changed()
        return info

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """Exited 0 at once, as if it honoured SIGTERM."""
        info = self._containers.get(container_id)
        if info is not None and info.running:
            self._containers[container_id] = replace(
                info, state="exited", exit_code=0, finished_at=now(), reason="Completed"
            )
            self._changed()

    async def remove_container(self, container_id: str) -> None:
        """Forget the record."""
        if self._containers.pop(container_id, None) is not None:
            self._changed()
        self._started.pop(container_id, None)
        self.sandbox_handlers.pop(container_id, None)
        self.container_handlers.pop(container_id, None)

    async def list_containers(self) -> list[rt.ContainerInfo]:
        """Every record."""
        return list(self._containers.values())

    async def inspect(self, container_id: str) -> rt.ContainerInfo:
        """One record."""
        try:
            return self._containers[container_id]
        except KeyError:
            raise rt.ContainerNotFound(container_id) from None

    async def logs(
        self,
        container_id: str,
        *,
        follow: bool,
        tail: int | None,
        timestamps: bool,
        since: float | None = None,
    ) -> AsyncIterator[bytes]:
        """One line saying there are no logs."""
        await self.inspect(container_id)
        yield b"(fake runtime: no logs)\n"

    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> FakeExec:
        """A successful no-op."""
        await self.inspect(container_id)
        return FakeExec()

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> FakeExec:
        """No output, as a fake container has none."""
        await self.inspect(container_id)
        return FakeExec()

    async def exec_run(
        self, container_id: str, command: list[str], timeout: float
    ) -> rt.ExecResult:
        """Success (so exec probes pass)."""
        await self.inspect(container_id)
        return rt.ExecResult(0, b"")

    async def stats(self, containers: Sequence[rt.ContainerInfo]) -> dict[str, rt.ContainerStats]:
        """A millicore since start and 4 MiB for each running container."""
        now = time.monotonic()
        out: dict[str, rt.ContainerStats] = {}
        for c in containers:
            if c.running and c.id in self._containers:
                started = self._started.setdefault(c.id, now)
                cpu = (now - started) * _FAKE_CPU_CORES
                out[c.id] = rt.ContainerStats(cpu, _FAKE_MEMORY, _FAKE_MEMORY, _FAKE_MEMORY)
        return out

    async def node_stats(self) -> rt.ContainerStats:
        """Its containers' usage plus a fixed base for the system."""
        pods = await self.stats(list(self._containers.values()))
        cpu = sum(s.cpu_seconds for s in pods.values()) + (time.monotonic() - self._born) * 0.01
        memory = _NODE_BASE_MEMORY + sum(s.memory_usage_bytes for s in pods.values())
        return rt.ContainerStats(cpu, memory, memory)

    async def close(self) -> None:
        """Nothing to release."""

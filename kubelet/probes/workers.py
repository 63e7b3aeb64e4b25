"""Probe workers: one task per (container, probe kind), with Kubernetes' semantics.

- Until the first conclusive result, readiness is failure, liveness success and startup
  unknown (not started).
- Nothing is probed before `initialDelaySeconds` after the container started.
- A result flips only after `successThreshold` successes or `failureThreshold` failures in
  a row. A liveness or startup failure puts the worker on hold until the container is
  replaced, so a restarting container is not condemned twice.
- While a startup probe has not succeeded, liveness and readiness are not run.

A worker belongs to one container ID; the pod worker calls `sync` after every look at
the runtime, which starts workers for new containers and cancels those of gone ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from client.timeouts import cancel_and_wait
from client.timestamps import to_epoch
from kubelet import metrics
from kubelet.probes import checks
from kubelet.runtime.interface import ContainerInfo, ContainerRuntime
from proto import core_pb2

log = structlog.get_logger("kubelet.probes")

LIVENESS = "Liveness"
READINESS = "Readiness"
STARTUP = "Startup"


@dataclass(frozen=True)
class ProbeSettings:
    """A probe's timing, with Kubernetes' defaults filled in."""

    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    @staticmethod
    def of(probe: core_pb2.Probe) -> ProbeSettings:
        """Defaults: delay 0, period 10 s, timeout 1 s, success 1, failure 3."""

        def opt(field: str, default: int) -> int:
            return int(getattr(probe, field)) if probe.HasField(field) else default

        return ProbeSettings(
            initial_delay=opt("initial_delay_seconds", 0),
            period=max(1, opt("period_seconds", 10)),
            timeout=max(1, opt("timeout_seconds", 1)),
            success_threshold=max(1, opt("success_threshold", 1)),
            failure_threshold=max(1, opt("failure_threshold", 3)),
        )


def probe_of(container: core_pb2.Container, kind: str) -> core_pb2.Probe | None:
    """The container's probe of that kind, or None when it has none."""
    field = {LIVENESS: "liveness_probe", READINESS: "readiness_probe", STARTUP: "startup_probe"}
    if not container.HasField(field[kind]):
        return None
    probe: core_pb2.Probe = getattr(container, field[kind])
    return probe


def epoch(rfc3339: str) -> float:
    """Seconds since the epoch of an RFC 3339 UTC time; now when empty."""
    if not rfc3339:
        return time.time()
    return to_epoch(rfc3339)


ChangeHandler = Callable[[str], None]
"""Called with the pod UID when a probe result of one of its containers changed."""
FailureHandler = Callable[[str, str, str, str], None]
"""Called with (pod UID, probe kind, container name, message) on every failed attempt."""


class ProbeWorker:
    """Probes one container periodically and keeps its latest conclusive result."""

    def __init__(
        self,
        manager: ProbeManager,
        kind: str,
        probe: core_pb2.Probe,
        pod_uid: str,
        pod_ip: str,
        spec: core_pb2.Container,
        container: ContainerInfo,
    ) -> None:
        self.manager = manager
        self.kind = kind
        self.probe = probe
        self.settings = ProbeSettings.of(probe)
        self.pod_uid = pod_uid
        self.pod_ip = pod_ip
        self.spec = spec
        self.container = container
        self.result: bool | None = {LIVENESS: True, READINESS: False, STARTUP: None}[kind]
        self._last: bool | None = None
        self._run = 0
        self._on_hold = False
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Probe every period until cancelled (the container went away)."""
        started = epoch(self.container.started_at)
        delay = started + self.settings.initial_delay - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        while True:
            if not self._on_hold and self.manager.may_probe(self):
                await self.probe_once()
                if self.kind == STARTUP and self.result:
                    return
            await asyncio.sleep(self.settings.period)

    async def attempt(self) -> checks.Outcome:
        """One probe attempt by whichever handler the probe has."""
        p, timeout = self.probe, self.settings.timeout
        if p.HasField("http_get"):
            return await checks.http_get(p.http_get, self.spec, self.pod_ip, timeout)
        if p.HasField("tcp_socket"):
            return await checks.tcp_socket(p.tcp_socket, self.spec, self.pod_ip, timeout)
        if p.HasField("exec"):
            return await checks.exec_command(
                p.exec, self.manager.runtime, self.container.id, timeout
            )
        if p.HasField("grpc"):
            return await checks.grpc_health(p.grpc, self.pod_ip, timeout)
        return checks.Outcome(False, "probe has no handler")

    async def probe_once(self) -> None:
        """Run one attempt and apply the thresholds."""
        outcome = await self.attempt()
        metrics.PROBE_TOTAL.labels(
            probe_type=self.kind,
            result="successful" if outcome.success else "failed",
            container=self.spec.name,
            pod=self.container.pod.name,
            namespace=self.container.pod.namespace,
        ).inc()
        if not outcome.success:
            self.manager.on_failure(self.pod_uid, self.kind, self.spec.name, outcome.message)
        if outcome.success == self._last:
            self._run += 1
        else:
            self._last, self._run = outcome.success, 1
        needed = (
            self.settings.success_threshold if outcome.success else self.settings.failure_threshold
        )
        if self._run < needed:
            return
        if self.result != outcome.success:
            self.result = outcome.success
            log.info(
                "probe result changed",
                pod_uid=self.pod_uid,
                container=self.spec.name,
                probe=self.kind,
                success=outcome.success,
            )
            self.manager.on_change(self.pod_uid)
        if not outcome.success and self.kind in (LIVENESS, STARTUP):
            # The container will be replaced; stop until it is.
            self._run = 0
            self._on_hold = True


class ProbeManager:
    """All probe workers of one node, keyed by container ID and kind."""

    def __init__(
        self,
        runtime: ContainerRuntime,
        on_change: ChangeHandler,
        on_failure: FailureHandler,
    ) -> None:
        self.runtime = runtime
        self.on_change = on_change
        self.on_failure = on_failure
        self._workers: dict[tuple[str, str], ProbeWorker] = {}
        self._by_pod: dict[str, set[tuple[str, str]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        """Every worker task not yet finished, cancelled ones included."""

    def sync(
        self,
        pod_uid: str,
        pod_ip: str,
        specs: list[core_pb2.Container],
        running: dict[str, ContainerInfo],
    ) -> None:
        """Workers for the probes of every running container of the pod, and no others."""
        wanted: set[tuple[str, str]] = set()
        for spec in specs:
            info = running.get(spec.name)
            if info is None or not info.running:
                continue
            for kind in (STARTUP, LIVENESS, READINESS):
                probe = probe_of(spec, kind)
                if probe is None:
                    continue
                key = (info.id, kind)
                wanted.add(key)
                if key not in self._workers:
                    worker = ProbeWorker(self, kind, probe, pod_uid, pod_ip, spec, info)
                    worker.task = asyncio.create_task(
                        worker.run(), name=f"probe-{kind}-{spec.name}-{pod_uid}"
                    )
                    self._tasks.add(worker.task)
                    worker.task.add_done_callback(self._tasks.discard)
                    self._workers[key] = worker
        for key in self._by_pod.get(pod_uid, set()) - wanted:
            self._stop(key)
        self._by_pod[pod_uid] = wanted

    def remove_pod(self, pod_uid: str) -> None:
        """Cancel every worker of the pod."""
        for key in self._by_pod.pop(pod_uid, set()):
            self._stop(key)

    def _stop(self, key: tuple[str, str]) -> None:
        worker = self._workers.pop(key, None)
        if worker is not None and worker.task is not None:
            worker.task.cancel()

    def may_probe(self, worker: ProbeWorker) -> bool:
        """Startup gates liveness and readiness."""
        return worker.kind == STARTUP or self.started(worker.container.id)

    def _result(self, container_id: str, kind: str) -> bool | None:
        worker = self._workers.get((container_id, kind))
        return None if worker is None else worker.result

    def has(self, container_id: str, kind: str) -> bool:
        """Whether a worker of that kind watches the container."""
        return (container_id, kind) in self._workers

    def started(self, container_id: str) -> bool:
        """True unless a startup probe has not yet succeeded."""
        if not self.has(container_id, STARTUP):
            return True
        return bool(self._result(container_id, STARTUP))

    def ready(self, container_id: str) -> bool:
        """Readiness: started and, with a readiness probe, passing it."""
        if not self.started(container_id):
            return False
        if not self.has(container_id, READINESS):
            return True
        return bool(self._result(container_id, READINESS))

    def must_restart(self, container_id: str) -> str:
        """ "Liveness" or "Startup" when that probe failed conclusively; "" otherwise."""
        if self._result(container_id, LIVENESS) is False:
            return LIVENESS
        worker = self._workers.get((container_id, STARTUP))
        if worker is not None and worker.result is False:
            return STARTUP
        return ""

    async def close(self, timeout: float = 10.0) -> set[asyncio.Task[None]]:
        """Cancel every worker, also those already told to stop; returns any still running."""
        self._workers.clear()
        self._by_pod.clear()
        return await cancel_and_wait(set(self._tasks), timeout)

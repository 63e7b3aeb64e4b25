"""One pod worker: a task that keeps the runtime in step with one desired pod.

Each `sync` is level-triggered: it looks at the pod as the API server last showed it and
at the containers as the runtime last showed them, takes the steps that are due (sandbox,
ephemeral containers once each, init containers in order, app containers, restarts after
back-off, liveness kills, a container whose image changed, a pod past its
activeDeadlineSeconds) and writes the pod's status when it changed. It runs
when the pod changes, when the pod's containers change (the PLEG), when a probe result
changes, when a back-off expires, and otherwise every resync period.

Restart counts live in the runtime, as each container's attempt label, so a kubelet that
restarts reports the same counts and adopts running containers instead of restarting them.

A sync reads the containers from the node's last relist. It waits for a newer one only
when that may not show what this worker did (its first sync, after it changed a
container, and when the pod goes): the PLEG wakes it on any other change anyway, and
thirty workers each forcing a relist at every wake-up kept the engine listing while
their pods started.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from client.ephemeral import as_container
from client.errors import ApiError, Conflict, NotFound
from client.quantity import cpu_millis, memory_bytes
from client.sidecars import is_sidecar, sidecars
from client.timeouts import wait_event
from kubelet import metrics
from kubelet.pods import pull_secrets
from kubelet.pods.config import ContainerConfigError
from kubelet.pods.context import NodeContext
from kubelet.pods.env import container_env, expand
from kubelet.pods.lifecycle import POST_START, PRE_STOP, hook_of, run_hook
from kubelet.pods.service_env import service_env_for
from kubelet.pods.status import TERMINAL, PodFacts, pod_status, ran_once
from kubelet.pods.volumes import VolumeError, VolumeManager
from kubelet.probes.workers import LIVENESS, STARTUP, epoch
from kubelet.runtime.interface import (
    ContainerConfig,
    ContainerInfo,
    ImagePullError,
    PodNaming,
    PodRef,
    RuntimeFailure,
)
from proto import core_pb2, node_pb2

log = structlog.get_logger("kubelet.pods")

NORMAL, WARNING = "Normal", "Warning"
POST_START_LIMIT = 300.0
"""How long a postStart hook may run before it counts as failed. Kubernetes sets no limit;
one that never ends would hold its container in ContainerCreating for good."""
MIN_GRACE_AFTER_HOOK = 2
"""The seconds a container still gets to stop after its preStop hook used the grace period."""
DEADLINE_EXCEEDED = (
    "DeadlineExceeded",
    "Pod was active on the node longer than the specified deadline",
)
"""Kubernetes' reason and message for a pod past its activeDeadlineSeconds."""


def go_duration(seconds: float) -> str:
    """A delay as Go prints a time.Duration ("10s", "1m20s", "5m0s"), as Kubernetes'
    messages show back-offs."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms" if seconds else "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:g}s"
    if hours or minutes:
        text = f"{int(minutes)}m{text}"
    if hours:
        text = f"{int(hours)}h{text}"
    return text


def pod_naming(spec: core_pb2.PodSpec) -> PodNaming:
    """The pod's dnsConfig and hostAliases as the sandbox takes them."""
    config = spec.dns_config
    return PodNaming(
        nameservers=list(config.nameservers),
        searches=list(config.searches),
        options=[f"{o.name}:{o.value}" if o.HasField("value") else o.name for o in config.options],
        hosts={name: alias.ip for alias in spec.host_aliases for name in alias.hostnames},
    )


def pull_policy(container: core_pb2.Container) -> str:
    """The explicit policy, or Kubernetes' default: Always for :latest or no tag."""
    if container.image_pull_policy:
        return container.image_pull_policy
    last = container.image.split("/")[-1]
    tag = last.partition(":")[2] if "@" not in last else "digest"
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _rv(pod: core_pb2.Pod) -> int:
    try:
        return int(pod.metadata.resource_version or 0)
    except ValueError:
        return 0


@dataclass(frozen=True)
class _PodSetup:
    """What every container start of one sync needs besides the container's spec: the
    pod as the sync read it, the sandbox whose network the container joins, and the
    host paths of the pod's volumes."""

    pod: core_pb2.Pod
    sandbox: ContainerInfo
    paths: dict[str, str]


def _pod_pid_mode(spec: core_pb2.PodSpec) -> str:
    """The PID namespace the pod's containers share: "host" (hostPID), "sandbox"
    (shareProcessNamespace) or "" (each its own). A shared one wins over an ephemeral
    container's target, as in Kubernetes: the target's processes are in it already."""
    if spec.host_pid:
        return "host"
    return "sandbox" if spec.share_process_namespace else ""


def _newest(by_name: dict[str, list[ContainerInfo]], name: str) -> ContainerInfo | None:
    """The latest attempt of a container (instances are sorted newest first)."""
    instances = by_name.get(name)
    return instances[0] if instances else None


class PodWorker:
    """Keeps one pod's containers as its spec says, until the pod is gone."""

    def __init__(self, ctx: NodeContext, pod: core_pb2.Pod) -> None:
        self.ctx = ctx
        self.uid = pod.metadata.uid
        self.pod: core_pb2.Pod = pod
        self.gone = False
        self.key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        self.log = log.bind(pod=self.key, node=ctx.node_name)
        self._wake = asyncio.Event()
        self._next_at: float | None = None
        self._seen_at = time.monotonic()
        self._start_observed = False
        self._waiting: dict[str, tuple[str, str]] = {}
        self._reported: set[tuple[str, int]] = set()
        self._pull_errors: dict[str, str] = {}
        """Image -> why its last pull failed, for the ImagePullBackOff message."""
        self._acted = False
        """This sync has asked the runtime to change a container."""
        self._shown_by = -1
        """The relist generation that shows this worker's last change (-1: none read yet)."""
        self.finished = asyncio.Event()
        self._ending = asyncio.Event()
        """Set once the pod is being deleted: a running postStart hook is given up."""

    # ---- inputs -------------------------------------------------------------------------

    def update(self, pod: core_pb2.Pod) -> None:
        """A newer version of the pod from the API server."""
        if _rv(pod) >= _rv(self.pod):
            self.pod = pod
        if self.pod.metadata.deletion_timestamp:
            self._ending.set()
        self.kick()

    def removed(self) -> None:
        """The pod no longer exists in the API server."""
        self.gone = True
        self._ending.set()
        self.kick()

    def kick(self) -> None:
        """Sync soon."""
        self._wake.set()

    def _retry_in(self, seconds: float) -> None:
        at = time.monotonic() + max(0.05, seconds)
        if self._next_at is None or at < self._next_at:
            self._next_at = at

    # ---- loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Sync on every wake-up until the pod is terminated and confirmed deleted."""
        try:
            while True:
                self._wake.clear()
                self._next_at = None
                try:
                    if await self.sync():
                        return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.log.exception("pod sync failed")
                    self._retry_in(2.0)
                timeout = self.ctx.settings.resync_period
                if self._next_at is not None:
                    timeout = min(timeout, max(0.0, self._next_at - time.monotonic()))
                await wait_event(self._wake, timeout)
        finally:
            self.ctx.probes.remove_pod(self.uid)
            self.finished.set()

    async def sync(self) -> bool:
        """One step toward the desired state; True once the pod is finished with."""
        self._acted = False
        try:
            return await self._sync()
        finally:
            if self._acted:
                # Failed halfway: the next sync waits for a relist showing what was done.
                self._shown_by = self.ctx.cache.next_generation()

    def _acting(self) -> None:
        """About to change a container: the views read so far are out of date."""
        self._acted = True

    async def _sync(self) -> bool:
        pod = self.pod
        cache = self.ctx.cache
        ending = self.gone or bool(pod.metadata.deletion_timestamp)
        # The latest relist is enough when it shows every change this worker made (it
        # wakes the worker on any other): only the first sync, the last one and those
        # after a change wait for a new one.
        if ending or self._shown_by < 0 or cache.listed < self._shown_by:
            await cache.fresh()
            self._shown_by = max(self._shown_by, 0)
        mine = cache.containers(self.uid)
        if ending:
            await self.terminate(mine)
            return True
        if not self.ctx.may_start():
            # Fenced or reconnecting: stopping is allowed, starting waits for the re-list.
            self._retry_in(1.0)
            return False
        if pod.status.phase in TERMINAL:
            if await self._stop_sandbox_when_done(mine):
                # A sidecar stopped here shows as terminated, as Kubernetes reports it.
                self._shown_by = cache.next_generation()
                self._acted = False
                await cache.fresh(want=self._shown_by)
                mine = cache.containers(self.uid)
                self._waiting = {}
                await self._write_status(None, mine)
            return False
        self._waiting = {}
        left = self._deadline_left(pod)
        if left is not None and left <= 0:
            self.ctx.event(pod, NORMAL, *DEADLINE_EXCEEDED)
            live = next((c for c in mine if c.kind == "sandbox" and c.running), None)
            await self._write_status(live, mine, ended=DEADLINE_EXCEEDED)
            # Ended now: the next sync stops its containers as for any pod that ended.
            self.kick()
            return False
        sandbox = await self._ensure_sandbox(mine)
        if sandbox is None:
            await self._write_status(None, mine)
            return False
        mine = cache.containers(self.uid)
        paths = await self._setup_volumes(pod)
        by_name = self._instances(mine)
        if paths is not None:
            setup = _PodSetup(pod, sandbox, paths)
            # First, as Kubernetes' SyncPod does, so that a pod whose init containers fail
            # can still be debugged.
            await self._sync_ephemeral_containers(setup, by_name)
            # Once an app container has been started the pod is initialized for good, as
            # in Kubernetes: init containers are not run again, sidecars are kept up.
            if any(_newest(by_name, c.name) is not None for c in pod.spec.containers):
                await self._sync_sidecars(setup, by_name)
                await self._sync_app_containers(setup, by_name)
            elif await self._sync_init_containers(setup, by_name):
                await self._sync_app_containers(setup, by_name)
        if self._acted:
            self._shown_by = cache.next_generation()
            self._acted = False
            await cache.fresh(want=self._shown_by)
            mine = cache.containers(self.uid)
            by_name = self._instances(mine)
        running = {n: i[0] for n, i in by_name.items() if i and i[0].running}
        probed = [*sidecars(pod.spec), *pod.spec.containers]
        self.ctx.probes.sync(self.uid, sandbox.ip, probed, running)
        await self._collect_garbage(by_name)
        await self._write_status(sandbox, mine)
        left = self._deadline_left(self.pod)
        if left is not None:
            # Wake up when the deadline comes (the first status write set startTime).
            self._retry_in(left)
        return False

    @staticmethod
    def _deadline_left(pod: core_pb2.Pod) -> float | None:
        """Seconds until the pod has run its activeDeadlineSeconds since the startTime the
        kubelet gave it (<= 0: it has); None when it has no deadline or no start yet."""
        if not pod.spec.HasField("active_deadline_seconds") or not pod.status.start_time:
            return None
        return epoch(pod.status.start_time) + pod.spec.active_deadline_seconds - time.time()

    # ---- sandbox and volumes --------------------------------------------------------------

    async def _ensure_sandbox(self, mine: list[ContainerInfo]) -> ContainerInfo | None:
        sandboxes = sorted(
            (c for c in mine if c.kind == "sandbox"), key=lambda c: c.attempt, reverse=True
        )
        live = [c for c in sandboxes if c.running]
        if live:
            return live[0]
        if sandboxes:
            # The network namespace died with the sandbox: its containers go too.
            self.log.info("sandbox is gone, recreating the pod's containers")
            self._acting()
            for c in mine:
                if c.running:
                    await self.ctx.runtime.stop_container(c.id, 0)
                await self.ctx.runtime.remove_container(c.id)
        attempt = sandboxes[0].attempt + 1 if sandboxes else 0
        if not self.ctx.may_start():
            self._retry_in(1.0)
            return None
        ref = PodRef(self.uid, self.pod.metadata.name, self.pod.metadata.namespace)
        try:
            handler = await self._runtime_handler()
            self._acting()
            sandbox = await self.ctx.runtime.ensure_sandbox(
                ref,
                self.pod.spec.hostname or self.pod.metadata.name,
                attempt,
                self.pod.spec.dns_policy,
                pod_naming(self.pod.spec),
                runtime_handler=handler,
            )
        except (RuntimeFailure, ApiError) as e:
            # Kubernetes' words; the pod stays ContainerCreating and is tried again.
            self.log.warning("sandbox creation failed", error=str(e))
            message = f"Failed to create pod sandbox: {e}"
            self.ctx.event(self.pod, WARNING, "FailedCreatePodSandBox", message)
            self._retry_in(5.0)
            return None
        if sandboxes:
            # Containers were removed above: the next steps must not see them.
            await self.ctx.cache.fresh()
        # A first sandbox changes nothing the next steps read (they pass the sandbox on
        # and look only at app containers, of which a new pod has none), so they go on
        # at once instead of waiting for a whole relist of the node.
        return sandbox

    async def _runtime_handler(self) -> str:
        """The handler of the pod's RuntimeClass, "" (the engine's default) without one,
        read from the API for each sandbox made, as Kubernetes' RunPodSandbox looks it up
        (a class may be deleted and made anew); NotFound (or another API error) while it
        cannot be read."""
        spec = self.pod.spec
        if not spec.runtime_class_name:
            return ""
        found = await self.ctx.api.get("runtimeclasses", "", spec.runtime_class_name)
        return found.handler if isinstance(found, node_pb2.RuntimeClass) else ""

    async def _setup_volumes(self, pod: core_pb2.Pod) -> dict[str, str] | None:
        try:
            return await self.ctx.volumes.setup(pod, self.ctx.capacity)
        except VolumeError as e:
            self.ctx.event(pod, WARNING, "FailedMount", str(e))
            for c in [*pod.spec.init_containers, *pod.spec.containers]:
                self._waiting[c.name] = ("ContainerCreating", str(e))
            self._retry_in(5.0)
            return None

    @staticmethod
    def _instances(mine: Iterable[ContainerInfo]) -> dict[str, list[ContainerInfo]]:
        by_name: dict[str, list[ContainerInfo]] = {}
        for c in mine:
            if c.kind != "sandbox":
                by_name.setdefault(c.name, []).append(c)
        for inst in by_name.values():
            inst.sort(key=lambda c: c.attempt, reverse=True)
        return by_name

    # ---- containers -----------------------------------------------------------------------

    async def _sync_init_containers(
        self, setup: _PodSetup, by_name: dict[str, list[ContainerInfo]]
    ) -> bool:
        """Run the init containers one at a time; True when all have succeeded (a sidecar:
        started, and past its startup probe if it has one)."""
        pod = setup.pod
        for spec in pod.spec.init_containers:
            latest = _newest(by_name, spec.name)
            if is_sidecar(spec):
                if latest is not None and latest.running:
                    if not self._sidecar_started(spec, latest):
                        return False
                    continue
                await self._keep_sidecar(setup, spec, latest)
                return False
            if latest is not None and latest.state == "exited" and latest.exit_code == 0:
                continue
            if latest is not None and latest.running:
                return False
            if latest is None:
                await self._start(setup, spec, "init", 0)
            elif (pod.spec.restart_policy or "Always") != "Never":
                await self._restart_after_backoff(setup, spec, "init", latest)
            return False
        return True

    def _sidecar_started(self, spec: core_pb2.Container, info: ContainerInfo) -> bool:
        """Whether the next init container may start: a sidecar with a startup probe holds
        it back until the probe has passed (its worker may not be running yet)."""
        if not spec.HasField("startup_probe"):
            return True
        return self.ctx.probes.has(info.id, STARTUP) and self.ctx.probes.started(info.id)

    async def _keep_sidecar(
        self, setup: _PodSetup, spec: core_pb2.Container, latest: ContainerInfo | None
    ) -> None:
        """Start a sidecar that is not running: first, or again after it exited (with the
        crash back-off, whatever the pod's restartPolicy)."""
        if latest is None:
            await self._start(setup, spec, "init", 0)
        else:
            await self._restart_after_backoff(setup, spec, "init", latest)

    async def _sync_sidecars(
        self, setup: _PodSetup, by_name: dict[str, list[ContainerInfo]]
    ) -> None:
        """After initialization: sidecars that exited start again, unhealthy ones are killed."""
        for spec in sidecars(setup.pod.spec):
            latest = _newest(by_name, spec.name)
            if latest is not None and latest.running:
                if latest.image != spec.image:
                    await self._restart_changed(setup, spec, "init", latest)
                    continue
                failed = self.ctx.probes.must_restart(latest.id)
                if failed:
                    await self._kill_unhealthy(setup.pod, spec, latest, failed)
                continue
            await self._keep_sidecar(setup, spec, latest)

    async def _sync_app_containers(
        self, setup: _PodSetup, by_name: dict[str, list[ContainerInfo]]
    ) -> None:
        pod = setup.pod
        policy = pod.spec.restart_policy or "Always"
        for spec in pod.spec.containers:
            latest = _newest(by_name, spec.name)
            if latest is None:
                await self._start(setup, spec, "app", 0)
                continue
            if latest.running:
                if latest.image != spec.image:
                    await self._restart_changed(setup, spec, "app", latest)
                    continue
                failed = self.ctx.probes.must_restart(latest.id)
                if failed:
                    await self._kill_unhealthy(pod, spec, latest, failed)
                continue
            if latest.state == "created":
                await self._start_created_again(setup, spec, "app", latest)
                continue
            if policy == "Always" or (policy == "OnFailure" and latest.exit_code != 0):
                await self._restart_after_backoff(setup, spec, "app", latest)

    async def _restart_changed(
        self, setup: _PodSetup, spec: core_pb2.Container, kind: str, latest: ContainerInfo
    ) -> None:
        """A running container whose image the pod now names differently (`kubectl set
        image`, the one container field a pod may change) is stopped and started again
        with the new one at once, whatever the restartPolicy, as Kubernetes restarts a
        container whose definition changed. Its crash back-off starts over: Kubernetes
        keys it by the container's definition."""
        pod = setup.pod
        msg = f"Container {spec.name} definition changed, will be restarted"
        self.log.info("container definition changed", container=spec.name, image=spec.image)
        self.ctx.event(pod, NORMAL, "Killing", msg)
        self._acting()
        await self._stop_app(pod, spec, latest, self._grace(pod), setup.sandbox.ip)
        self.ctx.crash_backoff.reset((self.uid, spec.name))
        await self._start(setup, spec, kind, latest.attempt + 1)

    async def _start_created_again(
        self,
        setup: _PodSetup,
        spec: core_pb2.Container,
        kind: str,
        latest: ContainerInfo,
        *,
        pid_target: str = "",
    ) -> None:
        """A container created but never started (the runtime refused to start it) is
        removed and made again after Kubernetes' back-off, not at every relist its removal
        causes; it never ran, so this is no restart."""
        key = (self.uid, spec.name)
        wait = self.ctx.crash_backoff.remaining(key)
        if wait > 0:
            delay = self.ctx.crash_backoff.delay(key)
            self._waiting[spec.name] = ("CrashLoopBackOff", self._backoff(setup.pod, spec, delay))
            self._retry_in(wait)
            return
        self._acting()
        await self.ctx.runtime.remove_container(latest.id)
        await self._start(setup, spec, kind, latest.attempt, pid_target=pid_target)

    async def _sync_ephemeral_containers(
        self, setup: _PodSetup, by_name: dict[str, list[ContainerInfo]]
    ) -> None:
        """Start each ephemeral container (`kubectl debug`) once its pod has a sandbox, even
        while init containers run, as Kubernetes does (a pod ended or being deleted gets
        none: `_sync` stops before). It is never started again, whatever the
        restartPolicy: not after it exits, nor after it went with a dead sandbox (the
        pod's status remembers it ran)."""
        pod = setup.pod
        for ephemeral in pod.spec.ephemeral_containers:
            latest = _newest(by_name, ephemeral.name)
            if latest is None and ran_once(ephemeral.name, pod):
                continue
            if latest is not None and latest.state != "created":
                continue
            spec = as_container(ephemeral)
            target = ""
            if ephemeral.target_container_name and not _pod_pid_mode(pod.spec):
                running = _newest(by_name, ephemeral.target_container_name)
                if running is None or not running.running:
                    # Kubernetes' words; tried again once the target runs.
                    name = ephemeral.target_container_name
                    msg = f"unable to find target container {name}"
                    self._waiting[spec.name] = ("CreateContainerConfigError", msg)
                    self._retry_in(5.0)
                    continue
                target = running.id
            if latest is None:
                await self._start(setup, spec, "ephemeral", 0, pid_target=target)
            else:
                await self._start_created_again(setup, spec, "ephemeral", latest, pid_target=target)

    async def _kill_unhealthy(
        self, pod: core_pb2.Pod, spec: core_pb2.Container, info: ContainerInfo, probe_kind: str
    ) -> None:
        what = "liveness" if probe_kind == LIVENESS else "startup"
        msg = f"Container {spec.name} failed {what} probe"
        if is_sidecar(spec) or (pod.spec.restart_policy or "Always") != "Never":
            msg += ", will be restarted"
        self.log.info("killing unhealthy container", container=spec.name, probe=probe_kind)
        self.ctx.event(pod, NORMAL, "Killing", msg)
        grace = self._grace(pod)
        probe = spec.liveness_probe if probe_kind == LIVENESS else spec.startup_probe
        if probe.HasField("termination_grace_period_seconds"):
            grace = int(probe.termination_grace_period_seconds)
        self._acting()
        await self._stop_app(pod, spec, info, grace, self._pod_ip())
        self.kick()

    def _backoff(self, pod: core_pb2.Pod, spec: core_pb2.Container, delay: float) -> str:
        """The CrashLoopBackOff waiting message, in Kubernetes' words."""
        return (
            f"back-off {go_duration(delay)} restarting failed container={spec.name} "
            f"pod={self._pod_id(pod)}"
        )

    def _pod_id(self, pod: core_pb2.Pod) -> str:
        # Kubernetes names a pod in its messages as name_namespace(uid).
        return f"{pod.metadata.name}_{pod.metadata.namespace}({self.uid})"

    async def _restart_after_backoff(
        self, setup: _PodSetup, spec: core_pb2.Container, kind: str, latest: ContainerInfo
    ) -> None:
        pod = setup.pod
        key = (self.uid, spec.name)
        if latest.image != spec.image:
            # A new definition (`kubectl set image` on a crashing container) starts at
            # once: Kubernetes keys the back-off by the container's definition.
            self.ctx.crash_backoff.reset(key)
        delay = self.ctx.crash_backoff.delay(key)
        wait = epoch(latest.finished_at) + delay - time.time() if delay else 0.0
        if wait > 0:
            if (spec.name, latest.attempt) not in self._reported:
                self._reported.add((spec.name, latest.attempt))
                self.ctx.event(
                    pod,
                    WARNING,
                    "BackOff",
                    f"Back-off restarting failed container {spec.name} in pod {self._pod_id(pod)}",
                )
            self._waiting[spec.name] = ("CrashLoopBackOff", self._backoff(pod, spec, delay))
            self._retry_in(wait)
            return
        self.ctx.crash_backoff.next(key)
        await self._start(setup, spec, kind, latest.attempt + 1)

    async def _ensure_image(self, pod: core_pb2.Pod, spec: core_pb2.Container) -> bool:
        policy = pull_policy(spec)
        runtime = self.ctx.runtime
        present = await runtime.image_present(spec.image)
        if policy == "Never":
            if present:
                return True
            msg = f'Container image "{spec.image}" is not present with pull policy of Never'
            self._waiting[spec.name] = ("ErrImageNeverPull", msg)
            self.ctx.event(pod, WARNING, "ErrImageNeverPull", msg)
            self._retry_in(self.ctx.settings.resync_period)
            return False
        if present and policy == "IfNotPresent":
            return True
        key = (self.uid, spec.name, "image")
        wait = self.ctx.image_backoff.remaining(key)
        if wait > 0:
            if present:
                return True
            msg = f'Back-off pulling image "{spec.image}"'
            self.ctx.event(pod, NORMAL, "BackOff", msg)
            last = self._pull_errors.get(spec.image)
            if last:
                # Kubernetes 1.32 tells why the last pull failed in the status too.
                msg = f"{msg}: ErrImagePull: {last}"
            self._waiting[spec.name] = ("ImagePullBackOff", msg)
            self._retry_in(wait)
            return False
        self.ctx.event(pod, NORMAL, "Pulling", f'Pulling image "{spec.image}"')
        offered = await pull_secrets.credentials(pod, spec.image, self.ctx.config)
        if offered.missing:
            self.ctx.event(
                pod,
                WARNING,
                "FailedToRetrieveImagePullSecret",
                f"Unable to retrieve some image pull secrets ({', '.join(offered.missing)}); "
                "attempting to pull the image may not succeed.",
            )
        try:
            await runtime.pull_image(spec.image, offered.auth)
        except ImagePullError as e:
            self.ctx.image_backoff.next(key)
            if present:
                # No registry is reachable offline; "Always" then uses the local copy.
                self.log.warning("pull failed, using the local image", image=spec.image)
                return True
            msg = f'Failed to pull image "{spec.image}": {e}'
            self._pull_errors[spec.image] = str(e)
            self._waiting[spec.name] = ("ErrImagePull", msg)
            self.ctx.event(pod, WARNING, "Failed", msg)
            self._retry_in(self.ctx.image_backoff.remaining(key))
            return False
        self.ctx.image_backoff.reset(key)
        self._pull_errors.pop(spec.image, None)
        self.ctx.event(pod, NORMAL, "Pulled", f'Successfully pulled image "{spec.image}"')
        return True

    async def _start(
        self,
        setup: _PodSetup,
        spec: core_pb2.Container,
        kind: str,
        attempt: int,
        *,
        pid_target: str = "",
    ) -> None:
        """Pull the image as the policy says, resolve the container's config and start it;
        `pid_target` is the running container whose PID namespace it joins, if any."""
        pod, sandbox = setup.pod, setup.sandbox
        if not await self._ensure_image(pod, spec):
            return
        try:
            env = await container_env(pod, spec, self.ctx.config, sandbox.ip, self.ctx.capacity)
            env = {**await service_env_for(self.ctx.api, pod, self.ctx.services), **env}
            mounts = VolumeManager.mounts(pod, spec, setup.paths, env)
            limits = spec.resources.limits
            config = ContainerConfig(
                name=spec.name,
                image=spec.image,
                kind=kind,
                attempt=attempt,
                command=[expand(a, env) for a in spec.command],
                args=[expand(a, env) for a in spec.args],
                working_dir=spec.working_dir,
                env=env,
                mounts=mounts,
                cpu_millis=cpu_millis(limits["cpu"]) if "cpu" in limits else 0,
                memory_bytes=memory_bytes(limits["memory"]) if "memory" in limits else 0,
                privileged=spec.security_context.privileged,
                run_as_user=(
                    spec.security_context.run_as_user
                    if spec.security_context.HasField("run_as_user")
                    else None
                ),
                read_only_root=spec.security_context.read_only_root_filesystem,
                stdin=spec.stdin,
                stdin_once=spec.stdin_once,
                tty=spec.tty,
                pid_mode=_pod_pid_mode(pod.spec) or ("target" if pid_target else ""),
                pid_target=pid_target,
                # The sandbox's, as the CRI runs a pod's containers: the class is read only
                # to make a sandbox, and a class deleted or made anew since changes nothing.
                runtime_handler=sandbox.runtime_handler,
            )
        except (ContainerConfigError, VolumeError, ValueError, ApiError) as e:
            self._waiting[spec.name] = ("CreateContainerConfigError", str(e))
            self.ctx.event(pod, WARNING, "Failed", f"Error: {e}")
            self._retry_in(5.0)
            return
        ref = PodRef(self.uid, pod.metadata.name, pod.metadata.namespace)
        if not self.ctx.may_start():
            self._retry_in(1.0)
            return
        self._acting()
        try:
            info = await self.ctx.runtime.start_container(ref, sandbox, config)
        except ImagePullError as e:
            self._waiting[spec.name] = ("ErrImagePull", str(e))
            self._retry_in(5.0)
            return
        except RuntimeFailure as e:
            self._waiting[spec.name] = ("RunContainerError", str(e))
            self.ctx.event(pod, WARNING, "Failed", f"Error: {e}")
            key = (self.uid, spec.name)
            self.ctx.crash_backoff.next(key)
            self._retry_in(self.ctx.crash_backoff.remaining(key))
            return
        self.log.info("container started", container=spec.name, attempt=attempt, id=info.id[:12])
        self.ctx.event(pod, NORMAL, "Started", f"Started container {spec.name}")
        await self._post_start(pod, spec, info, sandbox.ip)

    async def _post_start(
        self, pod: core_pb2.Pod, spec: core_pb2.Container, info: ContainerInfo, pod_ip: str
    ) -> None:
        """Run the container's postStart hook before anything else of the pod moves on, as
        Kubernetes does; a failed one kills the container, which then restarts as a crash
        would. Given up if the pod is deleted meanwhile (its termination stops it)."""
        handler = hook_of(spec, POST_START)
        if handler is None:
            return
        hook = asyncio.ensure_future(
            run_hook(self.ctx.runtime, pod, spec, info.id, pod_ip, handler, POST_START_LIMIT)
        )
        ending = asyncio.ensure_future(self._ending.wait())
        try:
            await asyncio.wait({hook, ending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ending.cancel()
        if not hook.done():
            hook.cancel()
            self.log.info("post-start hook given up: pod deleted", container=spec.name)
            return
        failure = hook.result()
        if failure is None:
            return
        self.log.info("post-start hook failed", container=spec.name, error=failure)
        self.ctx.event(pod, WARNING, "FailedPostStartHook", failure)
        await self._stop_app(pod, spec, info, self._grace(pod), pod_ip)

    async def _stop_app(
        self,
        pod: core_pb2.Pod,
        spec: core_pb2.Container | None,
        info: ContainerInfo,
        grace: int,
        pod_ip: str,
    ) -> None:
        """Stop an app container: its preStop hook first, within the grace period, then
        the signal with what is left of it (at least 2 s, as Kubernetes gives)."""
        handler = hook_of(spec, PRE_STOP) if spec is not None else None
        if spec is not None and handler is not None and grace > 0 and info.running:
            started = time.monotonic()
            runtime = self.ctx.runtime
            failure = await run_hook(runtime, pod, spec, info.id, pod_ip, handler, float(grace))
            if failure is not None:
                self.log.info("pre-stop hook failed", container=info.name, error=failure)
                self.ctx.event(pod, WARNING, "FailedPreStopHook", failure)
            grace = max(MIN_GRACE_AFTER_HOOK, grace - int(time.monotonic() - started))
        await self.ctx.runtime.stop_container(info.id, grace)

    def _pod_ip(self) -> str:
        """The pod's IP as the last relist shows its sandbox ("" when there is none)."""
        sandbox = next(
            (c for c in self.ctx.cache.containers(self.uid) if c.kind == "sandbox"), None
        )
        return sandbox.ip if sandbox is not None else ""

    def _spec_of(self, name: str) -> core_pb2.Container | None:
        """An app container's or a sidecar's spec (the containers a preStop hook may have)."""
        specs = [*self.pod.spec.containers, *sidecars(self.pod.spec)]
        return next((c for c in specs if c.name == name), None)

    # ---- clean-up -------------------------------------------------------------------------

    async def _collect_garbage(self, by_name: dict[str, list[ContainerInfo]]) -> None:
        keep = 1 + self.ctx.settings.dead_containers_per_container
        for inst in by_name.values():
            for old in inst[keep:]:
                if not old.running:
                    self._acting()
                    await self.ctx.runtime.remove_container(old.id)
        spec = self.pod.spec
        known = {s.name for s in [*spec.containers, *spec.init_containers]}
        known.update(e.name for e in spec.ephemeral_containers)
        for name, inst in by_name.items():
            if name not in known:
                for c in inst:
                    self._acting()
                    await self.ctx.runtime.stop_container(c.id, self._grace(self.pod))
                    await self.ctx.runtime.remove_container(c.id)

    def _grace(self, pod: core_pb2.Pod) -> int:
        if pod.metadata.HasField("deletion_grace_period_seconds"):
            return int(pod.metadata.deletion_grace_period_seconds)
        if pod.spec.HasField("termination_grace_period_seconds"):
            return int(pod.spec.termination_grace_period_seconds)
        return self.ctx.settings.default_grace_seconds

    async def terminate(self, mine: list[ContainerInfo]) -> None:
        """Stop every container (app ones with the grace period), clean up, confirm deletion."""
        pod = self.pod
        self.log.info("stopping pod", grace_seconds=self._grace(pod))
        self.ctx.probes.remove_pod(self.uid)
        await self._stop_running(mine)
        for c in mine:
            await self.ctx.runtime.remove_container(c.id)
        await self.ctx.volumes.cleanup(self.uid)
        self.ctx.crash_backoff.forget_prefix(self.uid)
        self.ctx.image_backoff.forget_prefix(self.uid)
        if not self.gone:
            try:
                await self.ctx.api.delete(
                    "pods",
                    pod.metadata.namespace,
                    pod.metadata.name,
                    grace_period_seconds=0,
                    precondition_uid=self.uid,
                )
            except (NotFound, Conflict):
                pass
        self.log.info("pod stopped and deleted")

    async def _stop_running(self, mine: list[ContainerInfo]) -> bool:
        """Stop the pod's running containers as Kubernetes kills a pod: preStop hooks and
        the grace period, app containers first, then the sidecars one by one, last started
        first (a sidecar outlives what may still use it), then the sandbox. True when one
        was stopped."""
        pod = self.pod
        grace = self._grace(pod)
        running = [c for c in mine if c.kind != "sandbox" and c.running]
        sandboxes = [c for c in mine if c.kind == "sandbox" and c.running]
        if not running and not sandboxes:
            return False
        self._acting()
        if running:
            self.ctx.event(pod, NORMAL, "Killing", f"Stopping {len(running)} container(s)")
        ip = next((c.ip for c in mine if c.kind == "sandbox"), "")
        order = [c.name for c in sidecars(pod.spec)]
        side = sorted((c for c in running if c.name in order), key=lambda c: order.index(c.name))
        deadline = time.monotonic() + grace
        await asyncio.gather(
            *(
                self._stop_app(pod, self._spec_of(c.name), c, grace, ip)
                for c in running
                if c.name not in order
            )
        )
        for c in reversed(side):
            left = int(deadline - time.monotonic())
            left = max(MIN_GRACE_AFTER_HOOK, left) if grace > 0 else 0
            await self._stop_app(pod, self._spec_of(c.name), c, left, ip)
        for c in sandboxes:
            await self.ctx.runtime.stop_container(c.id, 0)
        return True

    async def _stop_sandbox_when_done(self, mine: list[ContainerInfo]) -> bool:
        """A pod that reached Succeeded or Failed keeps no running containers: they are
        stopped as a deleted pod's are, hooks included; True when one was stopped."""
        self.ctx.probes.remove_pod(self.uid)
        return await self._stop_running(mine)

    # ---- status ---------------------------------------------------------------------------

    async def _write_status(
        self,
        sandbox: ContainerInfo | None,
        mine: list[ContainerInfo],
        *,
        ended: tuple[str, str] | None = None,
    ) -> None:
        pod = self.pod
        probes = self.ctx.probes
        start_time = ""
        sandboxes = [c for c in mine if c.kind == "sandbox"]
        if sandboxes:
            start_time = min(c.created_at for c in sandboxes if c.created_at) or ""
        facts = PodFacts(
            pod=pod,
            host_ip=self.ctx.host_ip,
            sandbox=sandbox,
            instances=self._instances(mine),
            waiting=self._waiting,
            ready=probes.ready,
            started=probes.started,
            start_time=start_time,
            ended=ended,
        )
        status = pod_status(facts)
        if status.phase == "Running" and not self._start_observed:
            if all(s.state.HasField("running") for s in status.container_statuses):
                self._start_observed = True
                metrics.POD_START_SECONDS.observe(time.monotonic() - self._seen_at)
        if status == pod.status:
            return
        update = core_pb2.Pod()
        update.CopyFrom(pod)
        update.status.CopyFrom(status)
        try:
            written = await self.ctx.api.update_status(update)
        except Conflict:
            self.log.info("status conflict, re-reading the pod")
            try:
                fresh = await self.ctx.api.get("pods", pod.metadata.namespace, pod.metadata.name)
            except NotFound:
                self.gone = True
            else:
                if isinstance(fresh, core_pb2.Pod) and fresh.metadata.uid == self.uid:
                    self.pod = fresh
            self.kick()
            return
        except NotFound:
            self.gone = True
            self.kick()
            return
        if status.phase != pod.status.phase:
            self.log.info("pod phase", phase=status.phase)
        if _rv(written) >= _rv(self.pod):
            self.pod = written

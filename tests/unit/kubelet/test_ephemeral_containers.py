"""The pod worker runs each ephemeral container (`kubectl debug`) once, in the running pod,
after its app containers: never restarted, never in a pod that ended or is going, never
taken for a stray by the clean-up, and in its target's PID namespace. On the fake
runtime, recording what each container was started with."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from client.timestamps import now
from kubelet.pods.context import NodeContext
from kubelet.pods.pleg import ContainerCache
from kubelet.pods.worker import PodWorker
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerConfig, ContainerInfo, PodRef
from proto import core_pb2
from tests.unit.kubelet.doubles import node_context


class RecordingRuntime(FakeRuntime):
    """The fake runtime, recording the names it started, what it started them with and the
    stops it was asked for."""

    def __init__(self) -> None:
        super().__init__("n1")
        self.starts: list[str] = []
        self.configs: dict[str, ContainerConfig] = {}
        self.stops: list[tuple[str, float]] = []

    async def start_container(
        self, pod: PodRef, sandbox: ContainerInfo, config: ContainerConfig
    ) -> ContainerInfo:
        started = await super().start_container(pod, sandbox, config)
        self.starts.append(config.name)
        self.configs[started.id] = config
        return started

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        info = self._containers.get(container_id)
        if info is not None and info.running:
            self.stops.append((info.name, grace_seconds))
        await super().stop_container(container_id, grace_seconds)

    def exit(self, name: str, code: int) -> None:
        """The named container's process ends by itself with `code`."""
        [info] = [c for c in self._containers.values() if c.name == name and c.running]
        self._containers[info.id] = replace(
            info,
            state="exited",
            exit_code=code,
            finished_at=now(),
            reason="Completed" if code == 0 else "Error",
        )
        self._changed()

    def named(self, name: str) -> list[ContainerInfo]:
        return [c for c in self._containers.values() if c.name == name]

    def config_of(self, name: str) -> ContainerConfig:
        [info] = self.named(name)
        return self.configs[info.id]


class PodStore:
    """The API as a pod worker uses it: its pod, with status writes and spec changes kept
    under one increasing resourceVersion."""

    def __init__(self, pod: core_pb2.Pod) -> None:
        self.pod = pod
        self.rv = 1
        self.deleted = False

    def change(self, edit: Callable[[core_pb2.Pod], None]) -> core_pb2.Pod:
        """A new version of the pod, as a user's update makes it."""
        pod = core_pb2.Pod()
        pod.CopyFrom(self.pod)
        edit(pod)
        self.rv += 1
        pod.metadata.resource_version = str(self.rv)
        self.pod = pod
        return pod

    async def update_status(self, obj: Any) -> Any:
        return self.change(lambda pod: pod.status.CopyFrom(obj.status))

    async def get(self, resource: str, namespace: str, name: str) -> Any:
        return self.pod

    async def delete(self, resource: str, namespace: str, name: str, **options: Any) -> Any:
        self.deleted = True
        return self.pod


def a_pod(*apps: str, policy: str = "Always") -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace, pod.metadata.uid = "web", "default", "uid-web"
    pod.metadata.resource_version = "1"
    pod.spec.node_name = "n1"
    pod.spec.restart_policy = policy
    pod.spec.automount_service_account_token = False
    pod.spec.termination_grace_period_seconds = 7
    for name in apps or ("app",):
        pod.spec.containers.add(name=name, image="busybox:1.35", command=["sleep", "3600"])
    return pod


def debugger(target: str = "app", **fields: Any) -> core_pb2.EphemeralContainer:
    return core_pb2.EphemeralContainer(
        name="debugger", image="busybox:1.35", target_container_name=target, **fields
    )


def deleted(pod: core_pb2.Pod) -> None:
    pod.metadata.deletion_timestamp = now()


class Node:
    """One pod's worker on a fake node, driven sync by sync."""

    def __init__(self, runtime: RecordingRuntime, worker: PodWorker, store: PodStore) -> None:
        self.runtime, self.worker, self.store = runtime, worker, store

    async def sync(self, times: int = 1) -> None:
        for _ in range(times):
            await self.worker.sync()

    async def add(self, ephemeral: core_pb2.EphemeralContainer) -> None:
        """Added through pods/ephemeralcontainers, as `kubectl debug` does."""
        self.worker.update(
            self.store.change(lambda p: p.spec.ephemeral_containers.append(ephemeral))
        )

    def status(self, name: str = "debugger") -> core_pb2.ContainerStatus:
        [found] = [s for s in self.store.pod.status.ephemeral_container_statuses if s.name == name]
        return found

    def conditions(self) -> dict[str, str]:
        return {c.type: c.status for c in self.store.pod.status.conditions}


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Callable[[core_pb2.Pod], Awaitable[Node]]]:
    """Makes the worker of one pod: `await node(pod)`."""
    made: list[tuple[asyncio.Task[None], NodeContext]] = []

    async def make(pod: core_pb2.Pod) -> Node:
        runtime = RecordingRuntime()
        store = PodStore(pod)
        workers: list[PodWorker] = []

        def changed(uid: str) -> None:
            for worker in workers:
                worker.kick()

        cache = ContainerCache(runtime, changed, period=3600)
        ctx = node_context(runtime, store, cache, tmp_path)
        workers.append(PodWorker(ctx, pod))
        made.append((asyncio.create_task(cache.run()), ctx))
        await cache.synced.wait()
        return Node(runtime, workers[0], store)

    try:
        yield make
    finally:
        for relists, ctx in made:
            relists.cancel()
            await asyncio.gather(relists, return_exceptions=True)
            await ctx.probes.close(timeout=5)


async def running_pod(node: Callable[[core_pb2.Pod], Awaitable[Node]], pod: core_pb2.Pod) -> Node:
    n = await node(pod)
    await n.sync()
    assert n.store.pod.status.phase == "Running"
    return n


async def test_an_ephemeral_container_starts_once_its_pod_has_a_sandbox_before_the_others(
    node,
):
    # As Kubernetes' SyncPod: ephemeral containers first, so a pod whose other containers
    # cannot start can still be debugged.
    pod = a_pod()
    pod.spec.ephemeral_containers.append(debugger(target=""))
    n = await node(pod)

    await n.sync()

    assert n.runtime.starts == ["debugger", "app"]
    [started] = n.runtime.named("debugger")
    assert (started.kind, started.attempt) == ("ephemeral", 0)
    assert n.status().state.HasField("running")


async def test_an_ephemeral_container_added_to_a_running_pod_runs_as_an_app_container_would(
    node, tmp_path
):
    pod = a_pod()
    pod.spec.volumes.add(name="scratch").empty_dir.SetInParent()
    n = await running_pod(node, pod)
    added = debugger(stdin=True, stdin_once=True, tty=True, command=["sh"])
    added.env.add(name="WHO", value="debugger")
    added.volume_mounts.add(name="scratch", mount_path="/scratch")

    await n.add(added)
    await n.sync()

    config = n.runtime.config_of("debugger")
    assert (config.kind, config.image, config.command) == ("ephemeral", "busybox:1.35", ["sh"])
    assert (config.stdin, config.stdin_once, config.tty) == (True, True, True)
    assert config.env["WHO"] == "debugger"
    [mount] = config.mounts
    assert mount.container_path == "/scratch" and mount.host_path.startswith(str(tmp_path))


@pytest.mark.parametrize("policy", ["Always", "OnFailure"])
async def test_an_ephemeral_container_that_exited_is_never_restarted_and_the_pod_stays_ready(
    node, policy
):
    n = await running_pod(node, a_pod(policy=policy))
    await n.add(debugger())
    await n.sync()
    n.runtime.exit("debugger", 2)
    await n.worker.ctx.cache.fresh()

    await n.sync(3)

    assert n.runtime.starts == ["app", "debugger"]
    state = n.status().state.terminated
    assert (state.exit_code, state.reason, n.status().restart_count) == (2, "Error", 0)
    assert n.store.pod.status.phase == "Running"
    assert n.conditions()["Ready"] == n.conditions()["ContainersReady"] == "True"


async def test_no_ephemeral_container_starts_in_a_pod_that_has_ended(node):
    n = await running_pod(node, a_pod(policy="Never"))
    n.runtime.exit("app", 0)
    await n.worker.ctx.cache.fresh()
    await n.sync()
    assert n.store.pod.status.phase == "Succeeded"

    await n.add(debugger())
    await n.sync(2)

    assert n.runtime.starts == ["app"]


async def test_an_ephemeral_container_debugs_an_init_container_that_runs(node):
    pod = a_pod()
    pod.spec.init_containers.add(name="setup", image="busybox:1.35", command=["sleep", "60"])
    pod.spec.ephemeral_containers.append(debugger(target="setup"))
    n = await node(pod)

    await n.sync()
    assert n.runtime.starts == ["setup"], "the target does not run yet: the debugger waits"
    assert n.status().state.waiting.message == "unable to find target container setup"
    await n.sync()

    assert n.runtime.starts == ["setup", "debugger"]
    [setup] = n.runtime.named("setup")
    assert n.runtime.config_of("debugger").pid_target == setup.id
    assert n.store.pod.status.phase == "Pending"


async def test_no_ephemeral_container_starts_in_a_pod_being_deleted(node):
    n = await running_pod(node, a_pod())

    def debugged_and_deleted(pod: core_pb2.Pod) -> None:
        pod.spec.ephemeral_containers.append(debugger())
        pod.metadata.deletion_timestamp = now()

    n.worker.update(n.store.change(debugged_and_deleted))

    assert await n.worker.sync() is True, "the pod was terminated"

    assert n.runtime.starts == ["app"]
    assert n.store.deleted


async def test_the_clean_up_of_unknown_containers_leaves_a_running_ephemeral_container_alone(node):
    n = await running_pod(node, a_pod())
    await n.add(debugger())
    await n.sync()
    [started] = n.runtime.named("debugger")

    n.worker.kick()
    await n.sync(3)

    assert n.runtime.named("debugger") == [started] and started.running
    assert n.runtime.stops == []


@pytest.mark.parametrize(
    ("pod_field", "target", "mode"),
    [
        ("", "app", "target"),
        ("", "", ""),
        ("share_process_namespace", "app", "sandbox"),
        ("host_pid", "app", "host"),
    ],
    ids=["target", "no-target", "shared-namespace-wins", "host-pid-wins"],
)
async def test_an_ephemeral_container_joins_its_targets_pid_namespace_unless_the_pod_shares_one(
    node, pod_field, target, mode
):
    pod = a_pod()
    if pod_field:
        setattr(pod.spec, pod_field, True)
    n = await running_pod(node, pod)

    await n.add(debugger(target=target))
    await n.sync()

    config = n.runtime.config_of("debugger")
    [app] = n.runtime.named("app")
    assert config.pid_mode == mode
    assert config.pid_target == (app.id if mode == "target" else "")


async def test_an_ephemeral_container_waits_for_its_target_to_run(node):
    n = await running_pod(node, a_pod("app", "side", policy="OnFailure"))
    n.runtime.exit("side", 0)  # done for good: OnFailure does not restart it
    await n.worker.ctx.cache.fresh()
    await n.sync()

    await n.add(debugger(target="side"))
    await n.sync()

    assert "debugger" not in n.runtime.starts
    waiting = n.status().state.waiting
    assert waiting.reason == "CreateContainerConfigError"
    assert waiting.message == "unable to find target container side"
    assert n.store.pod.status.phase == "Running"


async def test_deleting_the_pod_stops_its_ephemeral_container_with_the_pods_grace(node):
    n = await running_pod(node, a_pod())
    await n.add(debugger())
    await n.sync()

    n.worker.update(n.store.change(deleted))
    assert await n.worker.sync() is True

    assert sorted(n.runtime.stops) == [("POD", 0), ("app", 7), ("debugger", 7)]
    assert n.runtime.named("debugger") == []


async def test_an_ephemeral_container_lost_with_a_dead_sandbox_is_not_started_again(node):
    n = await running_pod(node, a_pod())
    await n.add(debugger())
    await n.sync()
    [sandbox] = [c for c in n.runtime._containers.values() if c.kind == "sandbox"]

    await n.runtime.stop_container(sandbox.id, 0)  # the pod's network namespace is gone
    await n.worker.ctx.cache.fresh()
    await n.sync(3)

    assert n.runtime.starts == ["app", "debugger", "app"]
    assert n.runtime.named("debugger") == []
    lost = n.status().state.terminated
    assert (lost.exit_code, lost.reason) == (137, "ContainerStatusUnknown")
    assert n.store.pod.status.phase == "Running"

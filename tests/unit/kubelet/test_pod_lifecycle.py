"""A pod's life on a node as Kubernetes 1.32's kubelet leads it, on the fake runtime: the
activeDeadlineSeconds that fails it, an image changed by `kubectl set image`, and the
waiting messages of crash-loop and image-pull back-offs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from client.timestamps import now
from kubelet.pods.pleg import ContainerCache
from kubelet.pods.worker import PodWorker, go_duration
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerInfo
from proto import core_pb2
from tests.unit.kubelet.doubles import KeptEvents, PodStore, node_context


@dataclass
class Node:
    runtime: FakeRuntime
    worker: PodWorker
    store: PodStore
    events: KeptEvents

    def apps(self) -> list[ContainerInfo]:
        """The app containers, oldest attempt first."""
        found = (c for c in self.runtime._containers.values() if c.kind == "app")
        return sorted(found, key=lambda c: c.attempt)

    async def events_recorded(self) -> list[tuple[str, str, str]]:
        await asyncio.sleep(0)  # the worker records events in tasks of their own
        return self.events.seen


def a_pod() -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace, pod.metadata.uid = "web", "default", "uid-web"
    pod.metadata.resource_version = "1"
    pod.spec.node_name = "n1"
    pod.spec.automount_service_account_token = False
    pod.spec.termination_grace_period_seconds = 0
    pod.spec.containers.add(name="main", image="busybox:1.35", command=["sleep", "3600"])
    return pod


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    runtime = FakeRuntime("n1", missing_images={"busybox:404"})
    store = PodStore(a_pod())
    cache = ContainerCache(runtime, lambda uid: None, period=3600)
    ctx = node_context(runtime, store, cache, tmp_path)
    events = KeptEvents()
    ctx.events = events
    relists = asyncio.create_task(cache.run())
    try:
        await cache.synced.wait()
        yield Node(runtime, PodWorker(ctx, store.pod), store, events)
    finally:
        relists.cancel()
        await asyncio.gather(relists, return_exceptions=True)
        await ctx.probes.close(timeout=5)


def changed(pod: core_pb2.Pod) -> core_pb2.Pod:
    """A copy of the pod as the API server serves it after a user's update."""
    new = core_pb2.Pod()
    new.CopyFrom(pod)
    new.metadata.resource_version = str(int(pod.metadata.resource_version) + 100)
    return new


async def test_a_pod_past_its_active_deadline_fails_with_deadline_exceeded_and_is_stopped(node):
    pod = changed(node.store.pod)
    pod.spec.active_deadline_seconds = 30
    node.worker.update(pod)
    await node.worker.sync()
    assert node.store.pod.status.phase == "Running"
    assert node.worker._next_at is not None, "it wakes up when the deadline comes"

    # Started 31 s ago as its status says: the deadline has passed.
    late = changed(node.store.pod)
    late.status.start_time = now(-31)
    node.worker.update(late)
    await node.worker.sync()
    status = node.store.pod.status
    assert (status.phase, status.reason, status.message) == (
        "Failed",
        "DeadlineExceeded",
        "Pod was active on the node longer than the specified deadline",
    )
    assert (
        "Normal",
        "DeadlineExceeded",
        "Pod was active on the node longer than the specified deadline",
    ) in await node.events_recorded()

    await node.worker.sync()  # an ended pod keeps no running container
    assert not any(c.running for c in node.runtime._containers.values())
    status = node.store.pod.status
    assert (status.phase, status.reason) == ("Failed", "DeadlineExceeded")
    assert status.container_statuses[0].state.HasField("terminated")


async def test_a_pod_without_a_start_time_has_no_deadline_yet(node):
    pod = changed(node.store.pod)
    pod.spec.active_deadline_seconds = 0
    pod.status.ClearField("start_time")
    node.worker.update(pod)
    await node.worker.sync()  # its first status write sets startTime
    assert node.store.pod.status.start_time
    await node.worker.sync()
    assert node.store.pod.status.phase == "Failed"


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
async def test_a_changed_image_restarts_the_container_with_it_whatever_the_restart_policy(
    node, policy
):
    pod = changed(node.store.pod)
    pod.spec.restart_policy = policy
    node.worker.update(pod)
    await node.worker.sync()
    first = node.apps()[0]

    pod = changed(node.store.pod)
    pod.spec.containers[0].image = "busybox:1.36"  # kubectl set image pod/web main=...
    node.worker.update(pod)
    await node.worker.sync()

    old, new = node.apps()
    assert (old.id, old.state) == (first.id, "exited")
    assert (new.image, new.state, new.attempt) == ("busybox:1.36", "running", 1)
    st = node.store.pod.status.container_statuses[0]
    assert (st.image, st.restart_count) == ("busybox:1.36", 1)
    assert st.state.HasField("running")
    killing = ("Normal", "Killing", "Container main definition changed, will be restarted")
    assert killing in await node.events_recorded()


async def test_a_crash_looping_container_given_a_new_image_starts_at_once(node):
    await node.worker.sync()
    key = (node.worker.uid, "main")
    for _ in range(3):  # back-off well under way: 40 s
        node.worker.ctx.crash_backoff.next(key)
    await node.runtime.stop_container(node.apps()[0].id, 0)
    await node.worker.ctx.cache.fresh()
    await node.worker.sync()
    assert node.store.pod.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"

    pod = changed(node.store.pod)
    pod.spec.containers[0].image = "busybox:1.36"
    node.worker.update(pod)
    await node.worker.sync()

    assert node.apps()[-1].image == "busybox:1.36"
    assert node.store.pod.status.container_statuses[0].state.HasField("running")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(10, "10s"), (40, "40s"), (80, "1m20s"), (160, "2m40s"), (300, "5m0s"), (3600, "1h0m0s")],
)
def test_back_off_delays_read_as_go_durations(seconds, shown):
    assert go_duration(seconds) == shown


async def test_the_crash_loop_message_reads_as_kubernetes_writes_it(node):
    await node.worker.sync()
    key = (node.worker.uid, "main")
    for _ in range(4):  # 10, 20, 40, 80
        node.worker.ctx.crash_backoff.next(key)
    await node.runtime.stop_container(node.apps()[0].id, 0)
    await node.worker.ctx.cache.fresh()
    await node.worker.sync()
    waiting = node.store.pod.status.container_statuses[0].state.waiting
    assert (waiting.reason, waiting.message) == (
        "CrashLoopBackOff",
        "back-off 1m20s restarting failed container=main pod=web_default(uid-web)",
    )


async def test_an_image_pull_back_off_says_why_the_last_pull_failed(node):
    pod = changed(node.store.pod)
    pod.spec.containers[0].image = "busybox:404"
    node.worker.update(pod)
    await node.worker.sync()
    waiting = node.store.pod.status.container_statuses[0].state.waiting
    assert waiting.reason == "ErrImagePull"

    await node.worker.sync()  # within the pull back-off
    waiting = node.store.pod.status.container_statuses[0].state.waiting
    assert (waiting.reason, waiting.message) == (
        "ImagePullBackOff",
        'Back-off pulling image "busybox:404": ErrImagePull: pull access denied for busybox:404',
    )


async def test_a_liveness_kill_under_restart_policy_never_does_not_promise_a_restart(node):
    pod = changed(node.store.pod)
    pod.spec.restart_policy = "Never"
    node.worker.update(pod)
    await node.worker.sync()
    spec, info = node.worker.pod.spec.containers[0], node.apps()[0]
    await node.worker._kill_unhealthy(node.worker.pod, spec, info, "Liveness")
    events = await node.events_recorded()
    assert ("Normal", "Killing", "Container main failed liveness probe") in events

"""A pod worker waits for a relist only when its view may be out of date: on its first
sync, after it changed a container, and when the pod goes. Woken with nothing to do, it
reads the last relist, so thirty workers woken by one relist do not force thirty more
while their pods start (issue #15)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubelet.pods.pleg import ContainerCache
from kubelet.pods.worker import PodWorker
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerInfo
from proto import core_pb2
from tests.unit.kubelet.doubles import PodStore, node_context


class CountingRuntime(FakeRuntime):
    """The fake runtime, counting the relists' list calls."""

    def __init__(self) -> None:
        super().__init__("n1")
        self.lists = 0

    async def list_containers(self) -> list[ContainerInfo]:
        self.lists += 1
        return await super().list_containers()


def web_pod() -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace, pod.metadata.uid = "web", "default", "uid-web"
    pod.metadata.resource_version = "1"
    pod.spec.node_name = "n1"
    pod.spec.automount_service_account_token = False
    pod.spec.containers.add(name="main", image="busybox:1.35", command=["sleep", "3600"])
    return pod


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[tuple[CountingRuntime, PodWorker, PodStore]]:
    runtime = CountingRuntime()
    pod = web_pod()
    store = PodStore(pod)
    worker: PodWorker | None = None

    def changed(uid: str) -> None:
        if worker is not None:
            worker.kick()

    # A long period: only the workers' own asks make relists in these tests.
    cache = ContainerCache(runtime, changed, period=3600)
    ctx = node_context(runtime, store, cache, tmp_path)
    worker = PodWorker(ctx, pod)
    relists = asyncio.create_task(cache.run())
    try:
        await cache.synced.wait()
        yield runtime, worker, store
    finally:
        relists.cancel()
        await asyncio.gather(relists, return_exceptions=True)
        await ctx.probes.close(timeout=5)


def apps(runtime: FakeRuntime) -> list[ContainerInfo]:
    return sorted(
        (c for c in runtime._containers.values() if c.kind == "app"), key=lambda c: c.attempt
    )


async def test_a_worker_with_nothing_to_do_reads_the_last_relist_instead_of_forcing_one(node):
    runtime, worker, store = node
    await worker.sync()  # starts the pod: a relist before, one after its changes
    assert store.pod.status.phase == "Running"
    assert store.writes == 1  # Running at the first write: nothing left to coalesce
    lists = runtime.lists

    await worker.sync()
    await worker.sync()

    assert runtime.lists == lists
    assert len(apps(runtime)) == 1
    assert store.writes == 1


async def test_a_worker_that_restarted_a_container_sees_the_restart_at_its_next_sync(node):
    runtime, worker, store = node
    await worker.sync()
    first = apps(runtime)[0]
    await runtime.stop_container(first.id, 0)
    await worker.ctx.cache.fresh()  # the PLEG's relist finds it exited

    await worker.sync()  # restarts it (the first restart is immediate), then relists
    lists = runtime.lists
    await worker.sync()

    assert runtime.lists == lists
    assert [c.attempt for c in apps(runtime)] == [0, 1]
    assert store.pod.status.container_statuses[0].restart_count == 1
    assert store.pod.status.container_statuses[0].state.HasField("running")

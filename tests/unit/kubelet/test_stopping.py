"""A kubelet's loops end when cancelled, even when the cancel coincides with a wake-up.

Python 3.11's `asyncio.wait_for` returned the wake-up and dropped the cancellation, so a
loop cancelled at that instant ran on and `Kubelet.stop()` waited for it forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from client.api import ObjectList
from client.timeouts import cancel_and_wait
from kubelet.fencing import Fence, FenceSettings, SelfFencing
from kubelet.pods.pleg import ContainerCache
from kubelet.probes.workers import ProbeManager
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerInfo, PodRef
from proto import core_pb2


async def waiting_on(event: asyncio.Event) -> None:
    """Return once something waits on the event (bounded: a few hundred loop turns)."""
    for _ in range(500):
        if event._waiters:
            return
        await asyncio.sleep(0)
    raise AssertionError("nothing started waiting on the event")


async def cancelled_at_wake_up(run: Callable[[], Awaitable[None]], wake: asyncio.Event) -> None:
    task = asyncio.ensure_future(run())
    await waiting_on(wake)
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done, "the loop survived its cancellation"
    assert task.cancelled()


async def test_the_pleg_ends_when_cancelled_as_a_worker_asks_for_a_relist() -> None:
    cache = ContainerCache(FakeRuntime("n1"), lambda uid: None, period=10)
    await cancelled_at_wake_up(cache.run, cache._wake)


async def test_the_fencing_loop_ends_when_cancelled_as_it_is_woken() -> None:
    fence = Fence(FenceSettings(), "n1")

    class NoPods:
        async def list(self, *args: Any, **kwargs: Any) -> ObjectList:
            raise AssertionError("not reached")

    async def reconnected(pods: list[core_pb2.Pod], version: str) -> None:
        pass

    fencing = SelfFencing(fence, FakeRuntime("n1"), NoPods(), reconnected)
    await cancelled_at_wake_up(fencing.run, fence.wake)


async def test_cancel_and_wait_names_a_task_that_will_not_stop_and_does_not_wait_longer() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        for _ in range(100):
            try:
                await release.wait()
                return
            except asyncio.CancelledError:
                continue  # the bug this guards against: a swallowed cancellation

    task = asyncio.create_task(stubborn(), name="stubborn")
    polite = asyncio.create_task(asyncio.Event().wait(), name="polite")
    await asyncio.sleep(0)
    still = await cancel_and_wait([task, polite], timeout=0.2)
    assert [t.get_name() for t in still] == ["stubborn"]
    assert polite.cancelled()
    release.set()
    await task


async def test_closing_the_probe_manager_ends_every_probe_worker() -> None:
    probes = ProbeManager(FakeRuntime("n1"), lambda uid: None, lambda *a: None)
    spec = core_pb2.Container(name="web")
    spec.liveness_probe.initial_delay_seconds = 3600
    spec.liveness_probe.tcp_socket.port.int_val = 80
    info = ContainerInfo("c1", PodRef("u1", "p", "default"), "web", "app", 0, "img", "", "running")
    probes.sync("u1", "10.0.0.2", [spec], {"web": info})
    assert probes.has("c1", "Liveness")
    assert await probes.close(timeout=5) == set()
    assert not probes.has("c1", "Liveness")

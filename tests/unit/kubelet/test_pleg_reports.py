"""A runtime that reports its containers' changes is relisted at each report, not on a
timer: thousands of simulated nodes relisting every second kept a process busy doing
nothing (issue #14)."""

from __future__ import annotations

import asyncio

from client.timeouts import within
from kubelet.pods.pleg import EVENTED_RELIST_PERIOD, ContainerCache
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerConfig, PodRef


async def test_a_change_the_runtime_reports_is_relisted_at_once_and_the_timer_is_a_safety_net() -> (
    None
):
    runtime = FakeRuntime("n1")
    seen: list[str] = []
    changed = asyncio.Event()

    def on_change(uid: str) -> None:
        seen.append(uid)
        changed.set()

    cache = ContainerCache(runtime, on_change, period=60)
    assert cache.period == EVENTED_RELIST_PERIOD
    relists = asyncio.create_task(cache.run())
    try:
        await within(cache.synced.wait(), 5)
        ref = PodRef("u1", "web", "default")
        sandbox = await runtime.ensure_sandbox(ref, "web", 0)
        await within(changed.wait(), 5)  # a timed relist would come after 60 s
        assert seen == ["u1"]
        changed.clear()
        app = await runtime.start_container(ref, sandbox, ContainerConfig("main", "busybox"))
        await within(changed.wait(), 5)
        await runtime.stop_container(app.id, 0)
        await within(cache.fresh(), 5)
        assert {(c.kind, c.state) for c in cache.containers("u1")} == {
            ("sandbox", "running"),
            ("app", "exited"),
        }
    finally:
        relists.cancel()
        await asyncio.gather(relists, return_exceptions=True)


def test_a_runtime_that_does_not_report_changes_keeps_its_relist_period() -> None:
    class Silent:
        node = "n1"

    assert ContainerCache(Silent(), lambda uid: None, period=1.0).period == 1.0  # type: ignore[arg-type]

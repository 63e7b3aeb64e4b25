"""The work queue: adds collapse, a key is never processed twice at once, back-off, shutdown."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from client.timeouts import within
from client.workqueue import ExponentialRateLimiter, ShutDown, WorkQueue, run_workers
from tests.support.waiting import eventually


async def test_duplicate_adds_collapse_into_one_key() -> None:
    q = WorkQueue()
    for _ in range(5):
        q.add("ns/a")
    q.add("ns/b")
    assert len(q) == 2
    assert await q.get() == "ns/a"
    assert await q.get() == "ns/b"
    assert len(q) == 0


async def test_keys_come_out_in_the_order_they_were_first_added() -> None:
    q = WorkQueue()
    for key in ["c", "a", "b", "a", "c"]:
        q.add(key)
    assert [await q.get() for _ in range(3)] == ["c", "a", "b"]


async def test_a_key_added_while_processing_is_queued_again_only_after_done() -> None:
    q = WorkQueue()
    q.add("k")
    key = await q.get()
    q.add("k")
    q.add("k")
    assert len(q) == 0, "a key in processing must not be handed out again"
    q.done(key)
    assert len(q) == 1
    assert await q.get() == "k"
    q.done("k")
    assert len(q) == 0


async def test_a_key_is_never_processed_by_two_workers_at_once() -> None:
    q = WorkQueue()
    active: set[str] = set()
    overlaps: list[str] = []
    processed: list[str] = []

    async def sync(key: str) -> None:
        if key in active:
            overlaps.append(key)
        active.add(key)
        # Yield a few times so that other workers run while this key is held.
        for _ in range(3):
            await asyncio.sleep(0)
            q.add(key)  # re-added while processing: must wait for done()
        active.discard(key)
        processed.append(key)

    for i in range(50):
        q.add(f"k{i % 5}")
    runner = asyncio.create_task(run_workers(q, sync, workers=4))
    await eventually(lambda: len(processed) >= 20, what="twenty syncs")
    q.shutdown()
    await within(runner, 5)
    assert overlaps == []


async def test_get_waits_for_a_key() -> None:
    q = WorkQueue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add("late")
    assert await within(getter, 5) == "late"


async def test_add_after_queues_the_key_once_its_delay_is_over() -> None:
    q = WorkQueue()
    q.add_after("k", 0.05)
    q.add_after("k", 10)  # a later time for the same key does not postpone it
    assert len(q) == 0
    assert await within(q.get(), 5) == "k"


async def test_add_after_with_no_delay_adds_at_once() -> None:
    q = WorkQueue()
    q.add_after("k", 0)
    assert len(q) == 1


def test_rate_limiter_doubles_per_key_up_to_the_cap_and_forget_resets() -> None:
    limiter = ExponentialRateLimiter(base=0.005, cap=0.04)
    assert [limiter.when("a") for _ in range(6)] == [0.005, 0.01, 0.02, 0.04, 0.04, 0.04]
    assert limiter.when("b") == 0.005, "back-off is per key"
    assert limiter.retries("a") == 6
    limiter.forget("a")
    assert limiter.retries("a") == 0
    assert limiter.when("a") == 0.005


def test_rate_limiter_survives_a_very_long_outage() -> None:
    limiter = ExponentialRateLimiter(base=0.005, cap=1000.0)
    delays = [limiter.when("k") for _ in range(2000)]
    assert delays[-1] == 1000.0


async def test_a_failing_sync_is_retried_with_back_off_until_it_succeeds() -> None:
    q = WorkQueue(rate_limiter=ExponentialRateLimiter(base=0.001, cap=0.01))
    attempts: list[str] = []

    async def sync(key: str) -> None:
        attempts.append(key)
        if len(attempts) < 4:
            raise RuntimeError("not yet")

    q.add("k")
    runner = asyncio.create_task(run_workers(q, sync, workers=2))
    await eventually(lambda: len(attempts) >= 4, what="four attempts")
    await eventually(lambda: q.retries("k") == 0, what="forgotten after success")
    q.shutdown()
    await within(runner, 5)
    assert attempts == ["k"] * 4


async def test_a_key_is_dropped_after_max_retries() -> None:
    q = WorkQueue(rate_limiter=ExponentialRateLimiter(base=0.001, cap=0.002))
    attempts: list[str] = []

    async def sync(key: str) -> None:
        attempts.append(key)
        raise RuntimeError("always")

    q.add("k")
    runner = asyncio.create_task(run_workers(q, sync, max_retries=2))
    await eventually(lambda: len(attempts) == 3, what="three attempts")
    await eventually(lambda: q.retries("k") == 0, what="key dropped")
    q.shutdown()
    await within(runner, 5)
    assert len(attempts) == 3


async def test_shutdown_wakes_every_waiting_getter_and_refuses_new_keys() -> None:
    q = WorkQueue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await asyncio.sleep(0)
    q.shutdown()
    for getter in getters:
        with pytest.raises(ShutDown):
            await within(getter, 5)
    q.add("k")
    q.add_after("k", 0.01)
    q.add_rate_limited("k")
    assert len(q) == 0
    with pytest.raises(ShutDown):
        await q.get()


async def test_shutdown_drops_delayed_keys() -> None:
    q = WorkQueue()
    q.add_after("k", 0.01)
    q.shutdown()
    assert not q._delayed


async def test_a_cancelled_getter_passes_its_key_to_another() -> None:
    q = WorkQueue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("k")
    first.cancel()
    assert await within(second, 5) == "k"


async def test_the_depth_gauge_follows_the_queue() -> None:
    q = WorkQueue("test-depth")

    def depth() -> float | None:
        return REGISTRY.get_sample_value(
            "tugboat_controller_queue_depth", {"controller": "test-depth"}
        )

    q.add("a")
    q.add("b")
    assert depth() == 2
    key = await q.get()
    assert depth() == 1
    q.done(key)
    q.shutdown()
    assert depth() == 0

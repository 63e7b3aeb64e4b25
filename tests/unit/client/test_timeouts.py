"""Waiting with a deadline keeps every cancellation (asyncio.wait_for on 3.11 does not)."""

from __future__ import annotations

import asyncio

import pytest

from client.timeouts import wait_event, within


async def test_wait_event_says_whether_the_event_was_set_in_time() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 0.01) is True
    assert await wait_event(event, 0) is True


async def test_within_returns_the_result_or_raises_timeout_error() -> None:
    assert await within(asyncio.sleep(0, result="ok"), 1) == "ok"
    with pytest.raises(TimeoutError):
        await within(asyncio.Event().wait(), 0.01)


async def waiting_on(event: asyncio.Event) -> None:
    """Return once something waits on the event (bounded: a few hundred loop turns)."""
    for _ in range(500):
        if event._waiters:
            return
        await asyncio.sleep(0)
    raise AssertionError("nothing started waiting on the event")


async def test_a_cancel_that_coincides_with_the_wake_up_ends_a_waiting_loop() -> None:
    wake = asyncio.Event()

    async def loop() -> None:
        for _ in range(1000):
            await wait_event(wake, 10)
            wake.clear()

    task = asyncio.create_task(loop())
    await waiting_on(wake)
    # Both in one loop iteration: with asyncio.wait_for the wake-up wins and the loop
    # goes on as if never cancelled.
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done and task.cancelled()


async def test_a_cancel_that_coincides_with_completion_is_not_swallowed_by_within() -> None:
    wake = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        for _ in range(1000):
            await within(wake.wait(), 10)
            wake.clear()
            rounds += 1

    task = asyncio.create_task(loop())
    await waiting_on(wake)
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done and task.cancelled()
    assert rounds == 0

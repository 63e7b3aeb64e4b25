"""Waiting with a deadline without ever losing a cancellation (every component uses these).

On Python 3.11, `asyncio.wait_for` swallows a cancellation that arrives in the same
loop iteration as the awaited thing finishing: it returns the result and the task goes
on as if never cancelled (cpython gh-86296, fixed only in 3.12). A loop such as
`while True: await wait_for(wake.wait(), period)` then survives `task.cancel()` whenever
the wake-up and the cancel coincide, and whoever awaits the cancelled task (a kubelet's
`stop()`) waits forever. `asyncio.timeout` delivers the cancellation into the waiting
coroutine itself, so it is never lost; these helpers are built on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until the event is set or `timeout` s pass; True if it was set."""
    try:
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def within(aw: Awaitable[T], timeout: float | None) -> T:
    """Await `aw`, raising TimeoutError after `timeout` s (None: no deadline).

    The drop-in for `asyncio.wait_for` that keeps cancellations.
    """
    async with asyncio.timeout(None if timeout is None else max(0.0, timeout)):
        return await aw


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], timeout: float
) -> set[asyncio.Task[Any]]:
    """Cancel the tasks and wait up to `timeout` s for them to end; returns those still running."""
    pending = {t for t in tasks if not t.done()}
    for t in pending:
        t.cancel()
    done: set[asyncio.Task[Any]] = set()
    still: set[asyncio.Task[Any]] = set()
    if pending:
        done, still = await asyncio.wait(pending, timeout=max(0.0, timeout))
    for t in done:
        if not t.cancelled():
            t.exception()  # retrieved: a task that failed while stopping is not news
    return still

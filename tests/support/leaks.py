"""Asyncio tasks a test leaves running: the check behind tests/conftest.py's fixture.

A task that outlives its test dies with the test's event loop, silently, in the middle of
whatever it was doing (a watch, a retry loop, a half-written status), and its work was
never waited for: a bug the test could not see. Tasks that are already being cancelled get
a moment to finish their cleanup before they count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Set
from typing import Any

GRACE_SECONDS = 2.0


async def assert_no_leaked_tasks(
    before: Set[asyncio.Task[Any]], grace: float = GRACE_SECONDS
) -> None:
    """AssertionError naming every task started since `before` that still runs; each is
    cancelled so the loop can close."""
    me = asyncio.current_task()

    def leftover() -> list[asyncio.Task[Any]]:
        return [t for t in asyncio.all_tasks() if t is not me and t not in before and not t.done()]

    pending = leftover()
    if pending:
        # A bounded wait for tasks in their cleanup (those cancelled on the way out).
        await asyncio.wait(pending, timeout=grace)
    leaked = leftover()
    for task in leaked:
        task.cancel()
    assert not leaked, "the test left asyncio tasks running: " + ", ".join(
        f"{t.get_name()} ({t.get_coro()!r})" for t in leaked
    )

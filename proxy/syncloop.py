"""The level-triggered loop both of the proxy's kernel-facing parts run.

The service proxier and the network policy agent sync the same way: an informer event
only sets `changed`; each turn clears it, syncs the whole state from the caches, waits
out the minimum interval (so a burst of events costs one sync) and then sleeps until the
next change or the resync period. A failed sync is logged and retried on the next turn;
cancellation (the owner's stop) ends the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from client.timeouts import within

__all__ = ["run_sync_loop"]


async def run_sync_loop(
    sync: Callable[[], Awaitable[None]],
    changed: asyncio.Event,
    *,
    min_interval: float,
    period: float,
    failed: Callable[[], None],
) -> None:
    """Sync forever; `failed` is called (in the except block) when a sync raises."""
    loop = asyncio.get_running_loop()
    while True:
        changed.clear()
        started = loop.time()
        try:
            await sync()
        except asyncio.CancelledError:
            raise
        except Exception:
            failed()
        pause = min_interval - (loop.time() - started)
        if pause > 0:
            await asyncio.sleep(pause)
        try:
            await within(changed.wait(), period)
        except TimeoutError:
            pass

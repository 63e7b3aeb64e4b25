"""A de-duplicating, rate-limited async work queue, in the spirit of client-go's workqueue.

Controllers are level-triggered: informer handlers only add an object's key, and a worker
later reads the current state and reconciles it. That makes three guarantees enough:

- a key waiting in the queue is there once, however often it was added (adds collapse);
- a key is never handed to two workers at once: a key added while a worker holds it is
  remembered ("dirty") and queued again when the worker calls `done(key)`;
- a failing key comes back later, after a per-key exponential back-off
  (`add_rate_limited`), until `forget(key)` clears its history.

After `shutdown()` no key is accepted or handed out: `get()` raises `ShutDown`, so a
controller that loses its leadership stops at once instead of draining stale work.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from prometheus_client import Counter, Gauge

__all__ = ["QUEUE_DEPTH", "ExponentialRateLimiter", "ShutDown", "Sync", "WorkQueue", "run_workers"]

log = structlog.get_logger("client.workqueue")

QUEUE_DEPTH = Gauge(
    "tugboat_controller_queue_depth",
    "Keys waiting in a controller's work queue (not counting delayed ones).",
    ["controller"],
)
QUEUE_ADDS = Counter(
    "tugboat_controller_queue_adds_total",
    "Keys added to a controller's work queue (before de-duplication).",
    ["controller"],
)
QUEUE_RETRIES = Counter(
    "tugboat_controller_queue_retries_total",
    "Keys re-queued with back-off after a failed sync.",
    ["controller"],
)
SYNC_ERRORS = Counter(
    "tugboat_controller_sync_errors_total",
    "sync(key) calls that raised, by controller.",
    ["controller"],
)


class ShutDown(Exception):
    """The queue was shut down: the worker should return."""


@dataclass
class ExponentialRateLimiter:
    """Per-key back-off: `base` seconds after the first failure, doubling up to `cap`."""

    base: float = 0.005
    """Delay after the first failure, in seconds."""
    cap: float = 1000.0
    """Longest delay, in seconds."""
    _failures: dict[str, int] = field(default_factory=dict, init=False)

    def when(self, key: str) -> float:
        """The delay before `key`'s next attempt; counts one more failure."""
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        return float(min(self.cap, self.base * (2 ** min(n, 62))))

    def retries(self, key: str) -> int:
        """Failures counted for `key` since it was last forgotten."""
        return self._failures.get(key, 0)

    def forget(self, key: str) -> None:
        """Clear `key`'s failure history (after a successful sync)."""
        self._failures.pop(key, None)


class WorkQueue:
    """The queue; `name` labels its metrics (`controller`); one event loop only."""

    def __init__(self, name: str = "", *, rate_limiter: ExponentialRateLimiter | None = None):
        self.name = name
        self.rate_limiter = rate_limiter or ExponentialRateLimiter()
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        """Keys that need processing: queued, or added again while being processed."""
        self._processing: set[str] = set()
        self._delayed: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False

    def __len__(self) -> int:
        """Keys ready to be handed out (not the delayed ones, not those in processing)."""
        return len(self._queue)

    def len(self) -> int:
        """The same as len(queue), client-go's spelling."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: str) -> None:
        """Queue `key` unless it is queued already; if it is being processed, after done()."""
        if self._shutting_down:
            return
        if self.name:
            QUEUE_ADDS.labels(self.name).inc()
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._depth_changed()
        self._wake_one()

    def add_after(self, key: str, delay: float) -> None:
        """Queue `key` after `delay` seconds; an earlier pending time for it wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        ready_at = loop.time() + delay
        pending = self._delayed.get(key)
        if pending is not None:
            if pending[0] <= ready_at:
                return
            pending[1].cancel()
        handle = loop.call_at(ready_at, self._delay_over, key)
        self._delayed[key] = (ready_at, handle)

    def add_rate_limited(self, key: str) -> None:
        """Queue `key` after its per-key back-off, which doubles with every call."""
        if self._shutting_down:
            return
        if self.name:
            QUEUE_RETRIES.labels(self.name).inc()
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: str) -> None:
        """Stop tracking `key`'s failures: its next back-off starts from the base again."""
        self.rate_limiter.forget(key)

    def retries(self, key: str) -> int:
        """How often `key` was re-queued with back-off since it was last forgotten."""
        return self.rate_limiter.retries(key)

    async def get(self) -> str:
        """The next key, waiting for one; the caller must call done(key) when finished."""
        # Each wake-up either finds a key or waits again; shutdown ends the loop.
        while True:
            if self._shutting_down:
                raise ShutDown(self.name)
            if self._queue:
                key = self._queue.popleft()
                self._processing.add(key)
                self._dirty.discard(key)
                self._depth_changed()
                return key
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # A wake-up meant for this getter must go to another one.
                if waiter.done() and not waiter.cancelled() and self._queue:
                    self._wake_one()
                raise
            finally:
                if waiter in self._getters:
                    self._getters.remove(waiter)

    def done(self, key: str) -> None:
        """`key` is finished; if it was added meanwhile, it is queued again now."""
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._depth_changed()
            self._wake_one()

    def shutdown(self) -> None:
        """Refuse new keys, drop delayed ones and make every get() raise ShutDown."""
        self._shutting_down = True
        for _, handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        self._queue.clear()
        self._dirty.clear()
        self._depth_changed()
        for waiter in self._getters:
            if not waiter.done():
                waiter.set_result(None)

    def _delay_over(self, key: str) -> None:
        self._delayed.pop(key, None)
        self.add(key)

    def _wake_one(self) -> None:
        for waiter in self._getters:
            if not waiter.done():
                waiter.set_result(None)
                return

    def _depth_changed(self) -> None:
        if self.name:
            QUEUE_DEPTH.labels(self.name).set(len(self._queue))


Sync = Callable[[str], Awaitable[None]]
"""A controller's reconcile step for one key: raise to be retried with back-off."""


async def run_workers(
    queue: WorkQueue,
    sync: Sync,
    *,
    workers: int = 1,
    max_retries: int | None = None,
) -> None:
    """Run `workers` tasks that take keys and call sync(key) until the queue shuts down.

    A key whose sync raises is re-queued with back-off (and dropped, with a log line,
    after `max_retries` retries when that is set); a key that syncs is forgotten.
    """
    async with asyncio.TaskGroup() as group:
        for i in range(max(1, workers)):
            group.create_task(_work(queue, sync, max_retries), name=f"{queue.name}-worker-{i}")


async def _work(queue: WorkQueue, sync: Sync, max_retries: int | None) -> None:
    # Ends when the queue shuts down; each turn handles one key.
    while True:
        try:
            key = await queue.get()
        except ShutDown:
            return
        started = time.monotonic()
        try:
            await sync(key)
        except asyncio.CancelledError:
            queue.done(key)
            raise
        except Exception as e:
            if queue.name:
                SYNC_ERRORS.labels(queue.name).inc()
            retries = queue.retries(key)
            if max_retries is not None and retries >= max_retries:
                log.error(
                    "sync failed, dropping key",
                    controller=queue.name,
                    key=key,
                    retries=retries,
                    error=str(e),
                    exc_info=True,
                )
                queue.forget(key)
            else:
                log.warning(
                    "sync failed, retrying with back-off",
                    controller=queue.name,
                    key=key,
                    retries=retries,
                    error=f"{type(e).__name__}: {e}",
                )
                queue.add_rate_limited(key)
        else:
            queue.forget(key)
            log.debug(
                "synced",
                controller=queue.name,
                key=key,
                seconds=round(time.monotonic() - started, 6),
            )
        queue.done(key)

"""The scheduling queue: pending pods ordered by priority, then age, in three sub-queues.

- active: ready to be tried now; a heap on (-priority, first seen, sequence).
- backoff: failed recently; each pod waits 1 s, 2 s, 4 s ... (at most 10 s) per attempt.
- unschedulable: no node fitted; waits for a cluster event that could change that (a node
  added or changed, a pod deleted), or at most `unschedulable_timeout` seconds.

A cluster event moves unschedulable pods to backoff (or straight to active when their
back-off is over). A pod that failed while an event arrived during its own attempt goes
to backoff rather than unschedulable, so the event is not lost (Kubernetes'
"move request cycle").

The queue holds keys; the scheduler keeps the pod objects. The clock is injectable.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Gauge

from client.timeouts import within

PENDING_PODS = Gauge(
    "tugboat_scheduler_pending_pods",
    "Pending pods by sub-queue: active, backoff, unschedulable.",
    ["queue"],
)

_PENDING_BY_QUEUE = {
    q: PENDING_PODS.labels(queue=q) for q in ("active", "backoff", "unschedulable")
}
"""The gauge's children, looked up once: the queue updates them on every change."""

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
UNSCHEDULABLE_TIMEOUT = 30.0


@dataclass
class QueuedPod:
    """A pending pod's place in the queue."""

    key: str
    priority: int
    first_seen: float
    """When the pod first entered the queue (for the end-to-end latency metric)."""
    attempts: int = 0
    last_failure: float = 0.0
    cycle: int = 0
    """The scheduling cycle in which the pod was last popped."""

    def backoff_until(self) -> float:
        """When its back-off ends: doubles with each attempt, capped."""
        if self.attempts == 0:
            return 0.0
        delay: float = min(MAX_BACKOFF, INITIAL_BACKOFF * 2.0 ** (self.attempts - 1))
        return self.last_failure + delay


@dataclass
class SchedulingQueue:
    """Priority queue of pending pod keys with back-off and event-driven re-activation."""

    clock: Callable[[], float] = time.monotonic
    unschedulable_timeout: float = UNSCHEDULABLE_TIMEOUT
    _pods: dict[str, QueuedPod] = field(default_factory=dict)
    _active: list[tuple[int, float, int, str]] = field(default_factory=list)
    _in_active: set[str] = field(default_factory=set)
    _backoff: dict[str, QueuedPod] = field(default_factory=dict)
    _unschedulable: dict[str, QueuedPod] = field(default_factory=dict)
    _in_flight: set[str] = field(default_factory=set)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _cycle: int = 0
    _move_request_cycle: int = -1
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: bool = False

    # ---- feeding ----
    def add(self, key: str, priority: int) -> None:
        """A new or changed pending pod: (re)try it now, unless it is backing off."""
        qp = self._pods.get(key)
        if qp is None:
            qp = self._pods[key] = QueuedPod(key, priority, self.clock())
        changed = qp.priority != priority
        qp.priority = priority
        if key in self._in_flight:
            return
        if key in self._unschedulable:
            # An update to the pod itself may make it schedulable: move it on.
            del self._unschedulable[key]
            self._to_backoff_or_active(qp)
        elif key in self._backoff:
            return
        elif key not in self._in_active or changed:
            self._push_active(qp)
        self._update_metrics()

    def delete(self, key: str) -> None:
        """The pod is gone or bound: drop it from every sub-queue."""
        self._pods.pop(key, None)
        self._in_active.discard(key)  # the stale heap entry is skipped on pop
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)
        self._update_metrics()

    def done(self, key: str) -> None:
        """The pod was scheduled (assumed): it leaves the queue."""
        self._in_flight.discard(key)
        self.delete(key)

    def requeue(self, key: str, *, unschedulable: bool) -> None:
        """A failed attempt: to unschedulable (no node fits) or backoff (an error)."""
        self._in_flight.discard(key)
        qp = self._pods.get(key)
        if qp is None:
            return
        qp.attempts += 1
        qp.last_failure = self.clock()
        if unschedulable and self._move_request_cycle < qp.cycle:
            self._unschedulable[key] = qp
        else:
            self._backoff[key] = qp
        self._update_metrics()
        self._wakeup.set()

    def add_after_error(self, key: str, priority: int) -> None:
        """A pod whose bind failed comes back, backing off as after a failed attempt."""
        self.add(key, priority)
        self._in_active.discard(key)
        qp = self._pods[key]
        qp.attempts += 1
        qp.last_failure = self.clock()
        self._backoff[key] = qp
        self._update_metrics()
        self._wakeup.set()

    def move_all_to_active_or_backoff(self) -> None:
        """A cluster event that may help unschedulable pods happened."""
        for qp in list(self._unschedulable.values()):
            self._to_backoff_or_active(qp)
        self._unschedulable.clear()
        self._move_request_cycle = self._cycle
        self._update_metrics()

    # ---- draining ----
    async def pop(self, *, max_wait: float = 1.0) -> QueuedPod | None:
        """The highest-priority, oldest ready pod; None after `max_wait` s with nothing."""
        deadline = self.clock() + max_wait
        while not self._closed:
            self.flush()
            while self._active:
                _, _, _, key = heapq.heappop(self._active)
                if key not in self._in_active:
                    continue
                self._in_active.discard(key)
                qp = self._pods[key]
                self._cycle += 1
                qp.cycle = self._cycle
                self._in_flight.add(key)
                self._update_metrics()
                return qp
            remaining = deadline - self.clock()
            if remaining <= 0:
                return None
            self._wakeup.clear()
            wait = min(remaining, self._next_backoff_wait())
            try:
                await within(self._wakeup.wait(), timeout=max(wait, 0.001))
            except TimeoutError:
                pass
        return None

    def flush(self) -> None:
        """Move pods whose back-off ended, and long-unschedulable ones, along."""
        now = self.clock()
        for key, qp in list(self._backoff.items()):
            if qp.backoff_until() <= now:
                del self._backoff[key]
                self._push_active(qp)
        for key, qp in list(self._unschedulable.items()):
            if now - qp.last_failure >= self.unschedulable_timeout:
                del self._unschedulable[key]
                self._to_backoff_or_active(qp)
        self._update_metrics()

    def close(self) -> None:
        """Make pop return None from now on."""
        self._closed = True
        self._wakeup.set()

    # ---- inspecting ----
    def lengths(self) -> dict[str, int]:
        """Sizes of the sub-queues."""
        return {
            "active": len(self._in_active),
            "backoff": len(self._backoff),
            "unschedulable": len(self._unschedulable),
        }

    def __contains__(self, key: object) -> bool:
        return key in self._pods

    # ---- internals ----
    def _push_active(self, qp: QueuedPod) -> None:
        self._in_active.add(qp.key)
        heapq.heappush(self._active, (-qp.priority, qp.first_seen, next(self._seq), qp.key))
        self._wakeup.set()

    def _to_backoff_or_active(self, qp: QueuedPod) -> None:
        if qp.backoff_until() > self.clock():
            self._backoff[qp.key] = qp
        else:
            self._push_active(qp)

    def _next_backoff_wait(self) -> float:
        if not self._backoff:
            return self.unschedulable_timeout
        return min(qp.backoff_until() for qp in self._backoff.values()) - self.clock()

    def _update_metrics(self) -> None:
        for name, n in self.lengths().items():
            _PENDING_BY_QUEUE[name].set(n)

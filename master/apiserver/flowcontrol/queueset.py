"""One priority level's seats and queues: who runs now, who waits, who is refused.

Kubernetes' queue set, on one asyncio event loop (no locks: every state change happens
between two awaits) and with one seat per request:

- Reject levels refuse a request beyond the limit at once ("concurrency-limit").
- Queue levels deal each flow a hand of `hand_size` queues from the hash of its key
  (shuffle sharding: two flows rarely share their whole hand, so a heavy flow fills its
  own queues but seldom all of a light flow's); the request joins the hand's queue with
  the fewest waiting requests (Kubernetes 1.32 compares waiting work only, not
  executing requests), and is refused when the level is at its limit and that queue
  already holds `queue_length_limit` requests ("queue-full"). It waits at most the wait
  limit ("time-out").
- Queues are served by fair queuing with virtual time, as in Kubernetes: virtual time R
  advances at the rate each active queue would be served if the seats were shared
  equally; each queue's next request "starts" at the queue's `next_r` and finishes one
  estimated service time later; the queue whose head would finish first goes next, ties
  going round-robin. A request that ran longer than estimated pushes its queue's
  `next_r` back by the difference, so a flow of slow requests yields to a flow of fast
  ones. A queue's `next_r` is never left behind its head's arrival, so an idle flow
  cannot save up credit.

Each waiter is a future; a timer refuses it at the deadline. A waiter whose task is
cancelled (client gone) withdraws from its queue, and is counted as Kubernetes counts
it, a "time-out"; if it had just been given a seat, the seat goes to the next in line.
A level at a limit of 0 still runs one request at a time, as in Kubernetes.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from enum import Enum

from master.apiserver.flowcontrol.metrics import FlowControlMetrics
from master.apiserver.flowcontrol.model import Queuing
from master.apiserver.flowcontrol.seats import DemandIntegrator

ESTIMATED_SERVICE_TIME = 0.003
"""Seconds a request is assumed to take when dispatched (Kubernetes' 3 ms); corrected by
its real duration when it finishes."""
MAX_HASH_BITS = 60


class Rejected(Exception):
    """The level refused the request; `reason` is the metric's reason label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Dealer:
    """Deals a hand of distinct queue indexes from a hash value (shuffle sharding).

    The hash is read as digits in the mixed radix deck, deck-1, …: the i-th digit picks
    among the cards not yet dealt, so every hand is equally likely for uniform hashes and
    the same hash always gets the same hand."""

    def __init__(self, deck_size: int, hand_size: int) -> None:
        if deck_size <= 0 or hand_size <= 0:
            raise ValueError(f"deck size {deck_size} and hand size {hand_size} must be positive")
        if hand_size > deck_size:
            raise ValueError(f"hand size {hand_size} is larger than deck size {deck_size}")
        if math.ceil(math.log2(deck_size) * hand_size) > MAX_HASH_BITS:
            raise ValueError(
                f"{deck_size} queues and hand size {hand_size} need more than "
                f"{MAX_HASH_BITS} bits of hash"
            )
        self.deck_size = deck_size
        self.hand_size = hand_size

    def deal(self, hash_value: int) -> list[int]:
        hand: list[int] = []
        for i in range(self.hand_size):
            hash_value, digit = divmod(hash_value, self.deck_size - i)
            card = digit
            for taken in sorted(hand):
                if taken <= card:
                    card += 1
            hand.append(card)
        return hand


class _State(Enum):
    WAITING = "waiting"
    EXECUTING = "executing"
    DONE = "done"


class _Queue:
    def __init__(self) -> None:
        self.waiting: deque[Seat] = deque()
        self.executing = 0
        self.next_r = 0.0
        """Virtual time at which the queue's next request starts."""

    @property
    def empty(self) -> bool:
        return not self.waiting and self.executing == 0


class Seat:
    """One request's place in a queue set: waiting, then holding a seat."""

    def __init__(self, schema: str, queue: _Queue | None, future: asyncio.Future[None]) -> None:
        self.schema = schema
        self.queue = queue
        self.future = future
        self.state = _State.WAITING
        self.arrival_r = 0.0
        self.started = 0.0
        self.timer: asyncio.TimerHandle | None = None

    @property
    def executing(self) -> bool:
        return self.state is _State.EXECUTING


class QueueSet:
    """A priority level's dispatching state; it survives reconfigurations of the level."""

    def __init__(
        self,
        level: str,
        metrics: FlowControlMetrics,
        *,
        exempt: bool,
        clock: Callable[[], float],
    ) -> None:
        self.level = level
        self.exempt = exempt
        self.limit = 0
        self.demand = DemandIntegrator(clock)
        """Seats executing plus seats waiting, integrated for borrowing."""
        self._metrics = metrics
        self._clock = clock
        self._queuing: Queuing | None = None
        self._dealer: Dealer | None = None
        self._queues: list[_Queue] = []
        self._robin = -1
        self._enqueues = 0
        self._r = 0.0
        self._last_sync = clock()
        self.waiting = 0
        self.executing = 0

    @property
    def idle(self) -> bool:
        return self.waiting == 0 and self.executing == 0

    def configure(self, queuing: Queuing | None, limit: int) -> None:
        """Apply a level's (new) queuing and limit. More queues are added at once; surplus
        queues go as they empty, so no waiter is dropped."""
        self._sync_time()
        if queuing is not None:
            self._dealer = Dealer(queuing.queues, queuing.hand_size)
            while len(self._queues) < queuing.queues:
                self._queues.append(_Queue())
        else:
            self._dealer = None
        self._queuing = queuing
        self._drop_surplus_queues()
        self.set_limit(limit)

    def set_limit(self, limit: int) -> None:
        self._sync_time()
        self.limit = limit
        self._dispatch_as_much_as_possible()

    async def acquire(self, flow_hash: int, schema: str, wait_limit: float) -> Seat:
        """A seat for one request of `schema`'s flow `flow_hash`, after waiting if need be.

        Raises Rejected when refused; a cancellation while waiting withdraws the request."""
        self._sync_time()
        loop = asyncio.get_running_loop()
        if self.exempt or self._queuing is None:
            if not self.exempt and not self._can_start():
                self._reject(schema, "concurrency-limit")
            seat = Seat(schema, None, loop.create_future())
            self._start(seat)
            self._note_demand()
            return seat
        queue = self._shuffle_shard(flow_hash)
        if self.executing >= self.limit and len(queue.waiting) >= self._queuing.queue_length_limit:
            self._reject(schema, "queue-full")
        seat = self._enqueue(queue, schema, loop.create_future())
        self._dispatch_as_much_as_possible()
        if seat.executing:
            return seat
        seat.timer = loop.call_later(wait_limit, self._time_out, seat)
        try:
            await seat.future
        except asyncio.CancelledError:
            if seat.state is _State.WAITING:
                self._withdraw(seat)
            elif seat.executing:
                self.release(seat)
            raise
        return seat

    def release(self, seat: Seat) -> None:
        """The request is done with its seat; the next in line gets it."""
        if not seat.executing:
            return
        self._sync_time()
        seat.state = _State.DONE
        self.executing -= 1
        self._metrics.executing_requests.labels(self.level, seat.schema).dec()
        self._metrics.executing_seats.labels(self.level, seat.schema).dec()
        queue = seat.queue
        if queue is not None:
            queue.executing -= 1
            # The estimate charged at dispatch is replaced by what the request really took.
            queue.next_r -= ESTIMATED_SERVICE_TIME - (self._clock() - seat.started)
            self._bound(queue)
        self._drop_surplus_queues()
        self._dispatch_as_much_as_possible()

    def _can_start(self) -> bool:
        return self.executing < max(self.limit, 1)

    def _reject(self, schema: str, reason: str) -> None:
        self._metrics.rejected.labels(self.level, schema, reason).inc()
        raise Rejected(reason)

    def _sync_time(self) -> None:
        """Advance virtual time for the time the current state has lasted."""
        now = self._clock()
        elapsed, self._last_sync = now - self._last_sync, now
        active = [q for q in self._queues if not q.empty]
        if active:
            requested = sum(q.executing + len(q.waiting) for q in active)
            self._r += elapsed * min(requested, max(self.limit, 1)) / len(active)

    def _shuffle_shard(self, flow_hash: int) -> _Queue:
        assert self._dealer is not None
        hand = self._dealer.deal(flow_hash)
        # Starting the scan at a rotating place in the hand breaks ties among equally
        # short queues differently each time, so overlapping hands share the load.
        offset = self._enqueues % len(hand)
        self._enqueues += 1
        best: _Queue | None = None
        for i in range(len(hand)):
            queue = self._queues[hand[(offset + i) % len(hand)]]
            if best is None or len(queue.waiting) < len(best.waiting):
                best = queue
        assert best is not None
        return best

    def _enqueue(self, queue: _Queue, schema: str, future: asyncio.Future[None]) -> Seat:
        if queue.empty:
            queue.next_r = self._r
        seat = Seat(schema, queue, future)
        seat.arrival_r = self._r
        queue.waiting.append(seat)
        self.waiting += 1
        self._metrics.inqueue_requests.labels(self.level, schema).inc()
        self._metrics.inqueue_seats.labels(self.level, schema).inc()
        self._metrics.queue_length_after_enqueue.labels(self.level, schema).observe(
            len(queue.waiting)
        )
        self._bound(queue)
        self._note_demand()
        return seat

    def _leave_queue(self, seat: Seat) -> None:
        self.waiting -= 1
        self._metrics.inqueue_requests.labels(self.level, seat.schema).dec()
        self._metrics.inqueue_seats.labels(self.level, seat.schema).dec()
        if seat.timer is not None:
            seat.timer.cancel()
            seat.timer = None

    def _withdraw(self, seat: Seat) -> None:
        """Take a waiter out of its queue for good (deadline passed or client gone)."""
        self._sync_time()
        assert seat.queue is not None
        seat.queue.waiting.remove(seat)
        self._leave_queue(seat)
        seat.state = _State.DONE
        self._metrics.rejected.labels(self.level, seat.schema, "time-out").inc()
        self._bound(seat.queue)
        self._drop_surplus_queues()
        self._note_demand()

    def _time_out(self, seat: Seat) -> None:
        seat.timer = None
        if seat.state is not _State.WAITING:
            return
        self._withdraw(seat)
        if not seat.future.done():
            seat.future.set_exception(Rejected("time-out"))

    def _start(self, seat: Seat) -> None:
        seat.state = _State.EXECUTING
        seat.started = self._clock()
        self.executing += 1
        self._metrics.executing_requests.labels(self.level, seat.schema).inc()
        self._metrics.executing_seats.labels(self.level, seat.schema).inc()
        if seat.queue is not None:
            seat.queue.executing += 1
            seat.queue.next_r += ESTIMATED_SERVICE_TIME
        if not seat.future.done():
            seat.future.set_result(None)

    def _dispatch_as_much_as_possible(self) -> None:
        while self.waiting and (self.exempt or self._can_start()):
            queue = self._next_queue()
            seat = queue.waiting.popleft()
            self._leave_queue(seat)
            if seat.future.cancelled():
                # Its task was cancelled and has not yet run to withdraw it: do so here.
                seat.state = _State.DONE
                self._metrics.rejected.labels(self.level, seat.schema, "time-out").inc()
            else:
                self._start(seat)
            self._bound(queue)
        self._drop_surplus_queues()
        self._note_demand()

    def _next_queue(self) -> _Queue:
        """The queue whose head would finish first in virtual time; ties round-robin."""
        best_index, best_finish = -1, math.inf
        for _ in range(len(self._queues)):
            self._robin = (self._robin + 1) % len(self._queues)
            queue = self._queues[self._robin]
            if queue.waiting and queue.next_r + ESTIMATED_SERVICE_TIME < best_finish:
                best_index, best_finish = self._robin, queue.next_r + ESTIMATED_SERVICE_TIME
        # The scan starts after the chosen queue next time, so equals take turns.
        self._robin = best_index
        return self._queues[best_index]

    def _bound(self, queue: _Queue) -> None:
        if queue.waiting and queue.next_r < queue.waiting[0].arrival_r:
            queue.next_r = queue.waiting[0].arrival_r

    def _drop_surplus_queues(self) -> None:
        desired = self._queuing.queues if self._queuing is not None else 0
        index = len(self._queues) - 1
        while len(self._queues) > desired and index >= 0:
            if index >= desired and self._queues[index].empty:
                del self._queues[index]
                if self._robin >= index:
                    self._robin -= 1
            index -= 1

    def _note_demand(self) -> None:
        self.demand.set(self.executing + self.waiting)

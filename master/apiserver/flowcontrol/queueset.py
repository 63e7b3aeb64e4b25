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

A level's memory and the work of each request are proportional to the queues that hold
requests, not to the configured number of queues (Kubernetes' validation accepts 10^7 of
them): a queue exists only while requests wait in it or run from it (a dict from queue
index to queue; a dealt index with no queue is an empty queue), the totals virtual time
needs (requests waiting, requests running from queues, the number of non-empty queues)
are kept as running counts, and the next queue to serve is the top of a heap of the
queues with waiters, keyed by their `next_r` (every head's estimated service time is
the same, so the earliest start is the earliest finish). Among equal keys the queue that
got its key longest ago goes first: a queue just served goes behind the others, so
equals take turns (Kubernetes scans its queues round-robin from the last one served).
An empty queue forgets nothing worth keeping: a queue that gains a request while empty
starts at the current virtual time anyway.

Each waiter is a future; a timer refuses it at the deadline. A waiter whose task is
cancelled (client gone) withdraws from its queue, and is counted as Kubernetes counts
it, a "time-out"; if it had just been given a seat, the seat goes to the next in line.
A level at a limit of 0 still runs one request at a time, as in Kubernetes.

For the debug dumps (debug.py) a queue set also keeps what kube-apiserver's keeps: the
seats executing (besides their count), each request's flow, digest and arrival, and
running totals of requests dispatched, rejected, timed out and cancelled since the level
was made; `snapshot` copies them out. None of it is read by dispatching.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from master.apiserver.flowcontrol.metrics import FlowControlMetrics
from master.apiserver.flowcontrol.model import Queuing, RequestDigest
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
    """A queue with requests waiting in it or running from it (see the module docstring)."""

    __slots__ = ("executing", "heap_key", "index", "next_r", "waiting")

    def __init__(self, index: int) -> None:
        self.index = index
        self.waiting: deque[Seat] = deque()
        self.executing = 0
        self.next_r = 0.0
        """Virtual time at which the queue's next request starts."""
        self.heap_key: tuple[float, int] | None = None
        """The (next_r, ticket) of its valid heap entry; None while nothing waits."""

    @property
    def empty(self) -> bool:
        return not self.waiting and self.executing == 0


class Seat:
    """One request's place in a queue set: waiting, then holding a seat."""

    def __init__(
        self,
        schema: str,
        queue: _Queue | None,
        future: asyncio.Future[None],
        *,
        arrived: float = 0.0,
        distinguisher: str = "",
        digest: RequestDigest | None = None,
    ) -> None:
        self.schema = schema
        self.queue = queue
        self.future = future
        self.state = _State.WAITING
        self.arrival_r = 0.0
        self.arrived = arrived
        """The queue set's clock when the request arrived (for the debug dump)."""
        self.started = 0.0
        self.distinguisher = distinguisher
        self.digest = digest
        """The request, as classified (for the debug dump); None in tests of the set."""
        self.timer: asyncio.TimerHandle | None = None

    @property
    def executing(self) -> bool:
        return self.state is _State.EXECUTING


@dataclass(frozen=True)
class RequestSnapshot:
    """One request waiting or executing, as the debug dump shows it."""

    schema: str
    distinguisher: str
    arrived: float
    """On the queue set's clock (`QueueSetSnapshot.clock` is "now" on it)."""
    started: float | None
    """On the queue set's clock; None while it waits."""
    digest: RequestDigest | None


@dataclass(frozen=True)
class QueueSnapshot:
    """One existing queue (one holding waiting or executing requests)."""

    index: int
    next_r: float
    """Virtual time (seat-seconds) at which its next request starts."""
    waiting: tuple[RequestSnapshot, ...]
    """In queue order."""
    executing: tuple[RequestSnapshot, ...]


@dataclass(frozen=True)
class QueueSetSnapshot:
    """A queue set's state and running totals at one instant (`QueueSet.snapshot`)."""

    clock: float
    idle: bool
    waiting: int
    executing: int
    dispatched: int
    """Requests given a seat (the dispatched_requests_total metric's count)."""
    rejected: int
    """Requests refused: at once (queue-full, concurrency-limit) or after waiting
    (time-out), as kube-apiserver counts them."""
    timed_out: int
    """Waiters refused because their wait limit passed."""
    cancelled: int
    """Waiters that left their queue without a seat: their wait limit passed or their
    client went away (kube-apiserver counts both as cancelled)."""
    queues: tuple[QueueSnapshot, ...]
    """The existing queues, by index."""
    queueless: tuple[RequestSnapshot, ...]
    """Requests executing with no queue: an exempt or a Reject level's."""


def _request_snapshot(seat: Seat) -> RequestSnapshot:
    started = seat.started if seat.state is _State.EXECUTING else None
    return RequestSnapshot(seat.schema, seat.distinguisher, seat.arrived, started, seat.digest)


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
        self._queues: dict[int, _Queue] = {}
        """The non-empty queues by index; every other index is an empty queue."""
        self._heap: list[tuple[float, int, int]] = []
        """(next_r, ticket, index) of the queues with waiters, and stale entries (whose
        (next_r, ticket) is no longer their queue's `heap_key`) skipped when met."""
        self._tickets = itertools.count()
        self._enqueues = 0
        self._r = 0.0
        self._last_sync = clock()
        self._executing_from_queues = 0
        self.waiting = 0
        self.executing = 0
        self._executing_seats: dict[Seat, None] = {}
        """The seats held, in the order they were given (for `snapshot` only)."""
        self.dispatched = 0
        self.rejected = 0
        self.timed_out = 0
        self.cancelled = 0
        """Running totals for the debug dump (see QueueSetSnapshot)."""

    @property
    def idle(self) -> bool:
        return self.waiting == 0 and self.executing == 0

    @property
    def queues_held(self) -> int:
        """How many queues exist now: those with requests waiting or executing."""
        return len(self._queues)

    def snapshot(self) -> QueueSetSnapshot:
        """A copy of the state for the debug dump; reading it changes nothing."""
        executing: dict[int, list[RequestSnapshot]] = {}
        queueless: list[RequestSnapshot] = []
        for seat in self._executing_seats:
            found = _request_snapshot(seat)
            if seat.queue is None:
                queueless.append(found)
            else:
                executing.setdefault(seat.queue.index, []).append(found)
        queues = tuple(
            QueueSnapshot(
                index,
                queue.next_r,
                tuple(_request_snapshot(seat) for seat in queue.waiting),
                tuple(executing.get(index, ())),
            )
            for index, queue in sorted(self._queues.items())
        )
        return QueueSetSnapshot(
            clock=self._clock(),
            idle=self.idle,
            waiting=self.waiting,
            executing=self.executing,
            dispatched=self.dispatched,
            rejected=self.rejected,
            timed_out=self.timed_out,
            cancelled=self.cancelled,
            queues=queues,
            queueless=tuple(queueless),
        )

    def configure(self, queuing: Queuing | None, limit: int) -> None:
        """Apply a level's (new) queuing and limit. No queue is made here: new requests
        are dealt among the new number of queues, and a queue beyond it keeps its
        requests until they are served (no waiter is dropped)."""
        self._sync_time()
        self._dealer = Dealer(queuing.queues, queuing.hand_size) if queuing is not None else None
        self._queuing = queuing
        self.set_limit(limit)

    def set_limit(self, limit: int) -> None:
        self._sync_time()
        self.limit = limit
        self._dispatch_as_much_as_possible()

    async def acquire(
        self,
        flow_hash: int,
        schema: str,
        wait_limit: float,
        *,
        distinguisher: str = "",
        digest: RequestDigest | None = None,
    ) -> Seat:
        """A seat for one request of `schema`'s flow `flow_hash`, after waiting if need be.
        `distinguisher` and `digest` describe the request in the debug dump only.

        Raises Rejected when refused; a cancellation while waiting withdraws the request."""
        self._sync_time()
        loop = asyncio.get_running_loop()
        arrived = self._clock()
        if self.exempt or self._queuing is None:
            if not self.exempt and not self._can_start():
                self._reject(schema, "concurrency-limit")
            seat = Seat(
                schema,
                None,
                loop.create_future(),
                arrived=arrived,
                distinguisher=distinguisher,
                digest=digest,
            )
            self._start(seat)
            self._note_demand()
            self.dispatched += 1
            return seat
        index = self._shuffle_shard(flow_hash)
        queue = self._queues.get(index)
        length = len(queue.waiting) if queue is not None else 0
        if self.executing >= self.limit and length >= self._queuing.queue_length_limit:
            self._reject(schema, "queue-full")
        if queue is None:
            queue = self._queues[index] = _Queue(index)
        seat = self._enqueue(queue, schema, loop.create_future())
        seat.arrived, seat.distinguisher, seat.digest = arrived, distinguisher, digest
        self._dispatch_as_much_as_possible()
        if seat.executing:
            self.dispatched += 1
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
        self.dispatched += 1
        return seat

    def release(self, seat: Seat) -> None:
        """The request is done with its seat; the next in line gets it. Releasing a seat
        that is not held does nothing."""
        if not seat.executing:
            return
        self._sync_time()
        seat.state = _State.DONE
        self.executing -= 1
        del self._executing_seats[seat]
        self._metrics.executing_requests.labels(self.level, seat.schema).dec()
        self._metrics.executing_seats.labels(self.level, seat.schema).dec()
        queue = seat.queue
        if queue is not None:
            queue.executing -= 1
            self._executing_from_queues -= 1
            # The estimate charged at dispatch is replaced by what the request really took.
            queue.next_r -= ESTIMATED_SERVICE_TIME - (self._clock() - seat.started)
            self._settle(queue)
        self._dispatch_as_much_as_possible()

    def _can_start(self) -> bool:
        return self.executing < max(self.limit, 1)

    def _reject(self, schema: str, reason: str) -> None:
        self.rejected += 1
        self._metrics.rejected.labels(self.level, schema, reason).inc()
        raise Rejected(reason)

    def _sync_time(self) -> None:
        """Advance virtual time for the time the current state has lasted: the seats the
        non-empty queues ask for (waiting plus running), up to the limit, shared equally
        among them."""
        now = self._clock()
        elapsed, self._last_sync = now - self._last_sync, now
        if self._queues:
            requested = self.waiting + self._executing_from_queues
            self._r += elapsed * min(requested, max(self.limit, 1)) / len(self._queues)

    def _shuffle_shard(self, flow_hash: int) -> int:
        """The index of the queue of the flow's hand with the fewest waiters."""
        assert self._dealer is not None
        hand = self._dealer.deal(flow_hash)
        # Starting the scan at a rotating place in the hand breaks ties among equally
        # short queues differently each time, so overlapping hands share the load.
        offset = self._enqueues % len(hand)
        self._enqueues += 1
        best_index, best_length = -1, math.inf
        for i in range(len(hand)):
            index = hand[(offset + i) % len(hand)]
            queue = self._queues.get(index)
            length = len(queue.waiting) if queue is not None else 0
            if length < best_length:
                best_index, best_length = index, length
        return best_index

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
        self._settle(queue)
        self._note_demand()
        return seat

    def _leave_queue(self, seat: Seat) -> None:
        self.waiting -= 1
        self._metrics.inqueue_requests.labels(self.level, seat.schema).dec()
        self._metrics.inqueue_seats.labels(self.level, seat.schema).dec()
        if seat.timer is not None:
            seat.timer.cancel()
            seat.timer = None

    def _withdraw(self, seat: Seat, *, deadline: bool = False) -> None:
        """Take a waiter out of its queue for good (deadline passed or client gone)."""
        self._sync_time()
        assert seat.queue is not None
        seat.queue.waiting.remove(seat)
        self._leave_queue(seat)
        seat.state = _State.DONE
        self._count_given_up(deadline=deadline)
        self._metrics.rejected.labels(self.level, seat.schema, "time-out").inc()
        self._settle(seat.queue)
        self._note_demand()

    def _time_out(self, seat: Seat) -> None:
        seat.timer = None
        if seat.state is not _State.WAITING:
            return
        self._withdraw(seat, deadline=True)
        if not seat.future.done():
            seat.future.set_exception(Rejected("time-out"))

    def _count_given_up(self, *, deadline: bool) -> None:
        self.rejected += 1
        self.cancelled += 1
        if deadline:
            self.timed_out += 1

    def _start(self, seat: Seat) -> None:
        seat.state = _State.EXECUTING
        seat.started = self._clock()
        self.executing += 1
        self._executing_seats[seat] = None
        self._metrics.executing_requests.labels(self.level, seat.schema).inc()
        self._metrics.executing_seats.labels(self.level, seat.schema).inc()
        if seat.queue is not None:
            seat.queue.executing += 1
            self._executing_from_queues += 1
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
                self._count_given_up(deadline=False)
                self._metrics.rejected.labels(self.level, seat.schema, "time-out").inc()
            else:
                self._start(seat)
            self._settle(queue)
        self._note_demand()

    def _next_queue(self) -> _Queue:
        """The queue whose head would finish first in virtual time (every head is
        estimated to take as long, so the one with the earliest `next_r`); among equals
        the one that has waited longest for its turn. Its heap entry is used up."""
        while True:
            next_r, ticket, index = heapq.heappop(self._heap)
            queue = self._queues.get(index)
            if queue is not None and queue.heap_key == (next_r, ticket):
                queue.heap_key = None
                return queue

    def _settle(self, queue: _Queue) -> None:
        """Bring a queue that just changed back into order: its `next_r` is never behind
        its head's arrival, its heap entry follows its `next_r`, and it is forgotten once
        empty."""
        if not queue.waiting:
            queue.heap_key = None
            if queue.executing == 0 and self._queues.get(queue.index) is queue:
                del self._queues[queue.index]
            return
        if queue.next_r < queue.waiting[0].arrival_r:
            queue.next_r = queue.waiting[0].arrival_r
        if queue.heap_key is not None and queue.heap_key[0] == queue.next_r:
            return  # keeps its place among equals
        queue.heap_key = (queue.next_r, next(self._tickets))
        heapq.heappush(self._heap, (*queue.heap_key, queue.index))
        if len(self._heap) > 2 * len(self._queues) + 16:
            # Stale entries outnumber live ones: rebuild from the queues with waiters.
            self._heap = [
                (*q.heap_key, q.index) for q in self._queues.values() if q.heap_key is not None
            ]
            heapq.heapify(self._heap)

    def _note_demand(self) -> None:
        self.demand.set(self.executing + self.waiting)

"""One priority level's seats and queues: who runs now, who waits, who is refused.

Kubernetes' queue set, on one asyncio event loop (no locks: every state change happens
between two awaits). Each request comes with its work estimate (estimate.py): it needs
`max_seats` seats to start, holds them while its handler runs, and, when the estimate
has a final phase, holds them `additional_latency` longer after its handler returned
(its watchers' events are still being sent); that tail runs on a timer, so the caller
never waits for it. Seats in use are the sum of those widths:

- Reject levels refuse at once a request that does not fit in the seats left
  ("concurrency-limit"); one wider than the whole limit fits when no request executes
  (see below).
- Queue levels deal each flow a hand of `hand_size` queues from the hash of its key
  (shuffle sharding: two flows rarely share their whole hand, so a heavy flow fills its
  own queues but seldom all of a light flow's); the request joins the hand's queue with
  the least work waiting (Kubernetes 1.32 compares the seat-seconds waiting only, not the
  requests executing), and is refused when the level's seats are all in use and that
  queue already holds `queue_length_limit` requests ("queue-full"). It waits at most the
  wait limit ("time-out").
- Queues are served by fair queuing with virtual time, as in Kubernetes: virtual time R
  (seat-seconds) advances at the rate each active queue (one with requests waiting or
  executing) would be served if the seats were shared equally: the seats the queues
  ask for (waiting, and in use, final phases included), up to the limit, over the
  number of active queues. A request's work is its initial seats times the estimated
  service time plus its final seats times its additional latency; each queue's next
  request "starts" at the queue's `next_r` and finishes that work later; the queue whose
  head would finish first goes next, ties going round-robin. A request that ran longer
  than estimated pushes its queue's `next_r` back by the difference times its initial
  seats, so a flow of slow requests yields to a flow of fast ones. A queue's `next_r`
  is never left behind its head's arrival, so an idle flow cannot save up credit.
- The head of the chosen queue starts only once its seats are free: narrower requests
  behind it, in its queue or in others, wait too (Kubernetes does not let them pass,
  which would starve a wide request). A request wider than the whole limit starts when
  no request is executing, as in Kubernetes, so it is late but never refused for its
  width; its final seats are narrowed to the limit at dispatch, for longer, keeping its
  final work. A wide head that leaves its queue unserved (its deadline, its client
  gone) lets the others through at once, where Kubernetes waits for the next arrival or
  finish to dispatch them.

A level's memory and the work of each request are proportional to the queues that hold
requests, not to the configured number of queues (Kubernetes' validation accepts 10^7 of
them): a queue exists only while requests wait in it, run from it, or hold its seats in
their final phase (a dict from queue index to queue; a dealt index with no queue is an
empty queue), the totals virtual time needs (seats waiting, seats in use from queues,
the number of active queues) are kept as running counts, and the next queue to serve is
the top of a heap of the queues with waiters, keyed by their head's virtual finish
(`next_r` plus the head's work). Among equal keys the queue that got its key longest ago
goes first: a queue just served goes behind the others, so equals take turns
(Kubernetes scans its queues round-robin from the last one served). A queue with no
request waiting or executing forgets nothing worth keeping: one that gains a request
then starts at the current virtual time anyway, as in Kubernetes.

Each waiter is a future; a timer refuses it at the deadline. A waiter whose task is
cancelled (client gone) withdraws from its queue, and is counted as Kubernetes counts
it, a "time-out"; if it had just been given its seats, it gives them back as a
finished request does.
A level at a limit of 0 still runs one seat's worth at a time, as Kubernetes' Reject
levels run one request (its queuing levels dispatch nothing at 0: their waiters wait
for the next adjustment of the limits, or time out). A level is idle when nothing waits
or executes, final phases aside, as in Kubernetes.

For the debug dumps (debug.py) a queue set also keeps what kube-apiserver's keeps: the
requests executing (besides their count), each request's flow, digest, arrival and work
estimate, and running totals of requests dispatched, rejected, timed out and cancelled
since the level was made; `snapshot` copies them out. None of it is read by dispatching.
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

from master.apiserver.flowcontrol.estimate import ONE_SEAT, SEAT_SECOND_UNITS, WorkEstimate
from master.apiserver.flowcontrol.metrics import FlowControlMetrics
from master.apiserver.flowcontrol.model import Queuing, RequestDigest
from master.apiserver.flowcontrol.seats import DemandIntegrator

ESTIMATED_SERVICE_TIME = 0.003
"""Seconds a request is assumed to take when dispatched (Kubernetes' 3 ms); corrected by
its real duration when it finishes."""
_ESTIMATED_SERVICE_NS = round(ESTIMATED_SERVICE_TIME * 1e9)
_NS_PER_UNIT = 10**9 // SEAT_SECOND_UNITS
MAX_HASH_BITS = 60


def work_units(work: WorkEstimate) -> int:
    """A request's work in 10^-8 seat-seconds, each phase rounded as Kubernetes rounds
    it: exact integers, so queues holding the same work compare equal."""
    initial = round(work.initial_seats * _ESTIMATED_SERVICE_NS / _NS_PER_UNIT)
    final = round(work.final_seats * work.latency_ns / _NS_PER_UNIT)
    return initial + final


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
    FINISHING = "finishing"
    """The handler returned; the final seats are held for the additional latency."""
    DONE = "done"


class _Queue:
    """A queue with requests waiting in it, running from it, or holding its seats in
    their final phase (see the module docstring)."""

    __slots__ = (
        "active",
        "executing",
        "heap_key",
        "index",
        "next_r",
        "seats_in_use",
        "waiting",
        "waiting_work",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.waiting: deque[Seat] = deque()
        self.waiting_work = 0
        """The work of its waiters, in 10^-8 seat-seconds (shuffle sharding reads it)."""
        self.executing = 0
        """Its requests whose handler runs."""
        self.seats_in_use = 0
        """The seats of its requests executing or finishing."""
        self.active = False
        """Counted among the queue set's active queues (requests waiting or executing)."""
        self.next_r = 0.0
        """Virtual time at which the queue's next request starts."""
        self.heap_key: tuple[float, int] | None = None
        """The (virtual finish, ticket) of its valid heap entry; None while nothing
        waits."""

    @property
    def empty(self) -> bool:
        """Nothing waits or executes (seats of final phases do not count, as in
        Kubernetes: a newcomer starts at the current virtual time)."""
        return not self.waiting and self.executing == 0


class Seat:
    """One request's place in a queue set: waiting, then holding its seats."""

    def __init__(
        self,
        schema: str,
        queue: _Queue | None,
        future: asyncio.Future[None],
        *,
        work: WorkEstimate = ONE_SEAT,
        arrived: float = 0.0,
        distinguisher: str = "",
        digest: RequestDigest | None = None,
    ) -> None:
        self.schema = schema
        self.queue = queue
        self.future = future
        self.work = work
        """Its estimate; the final phase narrowed to the limit at dispatch if wider."""
        self.work_units = work_units(work)
        """Its work in 10^-8 seat-seconds, as estimated on arrival (narrowing the final
        phase keeps its area)."""
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
        """Its handler runs (it has its seats and has not given them back)."""
        return self.state is _State.EXECUTING

    @property
    def seats(self) -> int:
        return self.work.max_seats

    @property
    def work_r(self) -> float:
        """Its work in virtual time (seat-seconds)."""
        return self.work_units / SEAT_SECOND_UNITS


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
    work: WorkEstimate
    work_units: int
    """Its work in 10^-8 seat-seconds (the dump's TotalWorkSum adds these up)."""


@dataclass(frozen=True)
class QueueSnapshot:
    """One existing queue (one holding waiting, executing or finishing requests)."""

    index: int
    next_r: float
    """Virtual time (seat-seconds) at which its next request starts."""
    waiting: tuple[RequestSnapshot, ...]
    """In queue order."""
    executing: tuple[RequestSnapshot, ...]
    seats_in_use: int
    """The seats of its executing requests and of those in their final phase."""


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
    seats_in_use: int
    """Seats of the requests executing or in their final phase."""
    seats_waiting: int
    """Seats the waiting requests need."""


def _request_snapshot(seat: Seat) -> RequestSnapshot:
    started = seat.started if seat.state is _State.EXECUTING else None
    return RequestSnapshot(
        seat.schema,
        seat.distinguisher,
        seat.arrived,
        started,
        seat.digest,
        seat.work,
        seat.work_units,
    )


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
        """Seats in use plus seats waiting, integrated for borrowing."""
        self._metrics = metrics
        self._clock = clock
        self._queuing: Queuing | None = None
        self._dealer: Dealer | None = None
        self._queues: dict[int, _Queue] = {}
        """The existing queues by index; every other index is an empty queue."""
        self._heap: list[tuple[float, int, int]] = []
        """(virtual finish, ticket, index) of the queues with waiters, and stale entries
        (whose (finish, ticket) is no longer their queue's `heap_key`) skipped when met."""
        self._tickets = itertools.count()
        self._enqueues = 0
        self._r = 0.0
        self._last_sync = clock()
        self._active_queues = 0
        self._queued_seats_in_use = 0
        """Seats in use by requests from queues (virtual time counts these)."""
        self.waiting = 0
        self.executing = 0
        self.seats_waiting = 0
        self.seats_in_use = 0
        """Seats of the requests executing and of those in their final phase."""
        self._executing_seats: dict[Seat, None] = {}
        """The requests executing, in the order they started (for `snapshot` only)."""
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
        """How many queues exist now: those with requests waiting, executing or in
        their final phase."""
        return len(self._queues)

    @property
    def _capacity(self) -> int:
        # A limit of 0 still lets one seat's worth run, or the level would stall.
        return max(self.limit, 1)

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
                queue.seats_in_use,
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
            seats_in_use=self.seats_in_use,
            seats_waiting=self.seats_waiting,
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
        work: WorkEstimate = ONE_SEAT,
        distinguisher: str = "",
        digest: RequestDigest | None = None,
    ) -> Seat:
        """Seats for one request of `schema`'s flow `flow_hash`, as many as `work` needs,
        after waiting if need be. `distinguisher` and `digest` describe the request in
        the debug dump only.

        Raises Rejected when refused; a cancellation while waiting withdraws the request."""
        self._sync_time()
        loop = asyncio.get_running_loop()
        arrived = self._clock()
        if self.exempt or self._queuing is None:
            if not self._can_accommodate(work.max_seats):
                self._reject(schema, "concurrency-limit")
            seat = Seat(
                schema,
                None,
                loop.create_future(),
                work=work,
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
        if self.seats_in_use >= self.limit and length >= self._queuing.queue_length_limit:
            self._reject(schema, "queue-full")
        if queue is None:
            queue = self._queues[index] = _Queue(index)
        seat = Seat(
            schema,
            queue,
            loop.create_future(),
            work=work,
            arrived=arrived,
            distinguisher=distinguisher,
            digest=digest,
        )
        self._enqueue(seat)
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
        """The request's handler is done; its seats go to the next in line, at once or,
        when its estimate has a final phase, once its additional latency has passed (the
        caller does not wait for that). Releasing seats that are not held does nothing."""
        if not seat.executing:
            return
        self._sync_time()
        self.executing -= 1
        del self._executing_seats[seat]
        self._metrics.executing_requests.labels(self.level, seat.schema).dec()
        queue = seat.queue
        if queue is not None:
            queue.executing -= 1
            # The estimate charged at dispatch is replaced by what the request really
            # took, for each of the seats it ran on.
            ran = self._clock() - seat.started
            queue.next_r -= seat.work.initial_seats * (ESTIMATED_SERVICE_TIME - ran)
        if seat.work.final_seats > 0 and seat.work.additional_latency > 0:
            seat.state = _State.FINISHING
            loop = asyncio.get_running_loop()
            seat.timer = loop.call_later(seat.work.additional_latency, self._finished, seat)
            if queue is not None:
                self._settle(queue)
        else:
            self._give_back(seat)
        self._dispatch_as_much_as_possible()

    def _finished(self, seat: Seat) -> None:
        """A final phase is over: its seats are free."""
        seat.timer = None
        self._sync_time()
        self._give_back(seat)
        self._dispatch_as_much_as_possible()

    def _give_back(self, seat: Seat) -> None:
        seat.state = _State.DONE
        self.seats_in_use -= seat.seats
        self._metrics.executing_seats.labels(self.level, seat.schema).dec(seat.seats)
        queue = seat.queue
        if queue is not None:
            queue.seats_in_use -= seat.seats
            self._queued_seats_in_use -= seat.seats
            self._settle(queue)

    def _can_accommodate(self, seats: int) -> bool:
        """Whether a request of `seats` may start now (Kubernetes' canAccommodateSeats)."""
        if self.exempt:
            return True
        if seats > self._capacity:
            # It could never fit: it runs alone instead, when nothing else executes.
            return self.executing == 0
        return self.seats_in_use + seats <= self._capacity

    def _reject(self, schema: str, reason: str) -> None:
        self.rejected += 1
        self._metrics.rejected.labels(self.level, schema, reason).inc()
        raise Rejected(reason)

    def _sync_time(self) -> None:
        """Advance virtual time for the time the current state has lasted: the seats the
        queues ask for (waiting plus in use), up to the limit, shared equally among the
        active queues."""
        now = self._clock()
        elapsed, self._last_sync = now - self._last_sync, now
        if self._active_queues:
            requested = self.seats_waiting + self._queued_seats_in_use
            self._r += elapsed * min(requested, self._capacity) / self._active_queues

    def _shuffle_shard(self, flow_hash: int) -> int:
        """The index of the queue of the flow's hand with the least work waiting."""
        assert self._dealer is not None
        hand = self._dealer.deal(flow_hash)
        # Starting the scan at a rotating place in the hand breaks ties among equally
        # short queues differently each time, so overlapping hands share the load.
        offset = self._enqueues % len(hand)
        self._enqueues += 1
        best_index, best_work = -1, math.inf
        for i in range(len(hand)):
            index = hand[(offset + i) % len(hand)]
            queue = self._queues.get(index)
            work = queue.waiting_work if queue is not None else 0
            if work < best_work:
                best_index, best_work = index, work
        return best_index

    def _enqueue(self, seat: Seat) -> None:
        queue = seat.queue
        assert queue is not None
        if queue.empty:
            queue.next_r = self._r
        seat.arrival_r = self._r
        queue.waiting.append(seat)
        queue.waiting_work += seat.work_units
        self.waiting += 1
        self.seats_waiting += seat.seats
        self._metrics.inqueue_requests.labels(self.level, seat.schema).inc()
        self._metrics.inqueue_seats.labels(self.level, seat.schema).inc(seat.seats)
        self._metrics.queue_length_after_enqueue.labels(self.level, seat.schema).observe(
            len(queue.waiting)
        )
        self._settle(queue)
        self._note_demand()

    def _leave_queue(self, seat: Seat) -> None:
        """Counts a waiter out that was just taken out of its queue's deque."""
        assert seat.queue is not None
        seat.queue.waiting_work -= seat.work_units
        self.waiting -= 1
        self.seats_waiting -= seat.seats
        self._metrics.inqueue_requests.labels(self.level, seat.schema).dec()
        self._metrics.inqueue_seats.labels(self.level, seat.schema).dec(seat.seats)
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
        # A wide request that left the head of its queue may have been what held the
        # others back while seats were free.
        self._dispatch_as_much_as_possible()

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
        self.seats_in_use += seat.seats
        self._executing_seats[seat] = None
        self._metrics.executing_requests.labels(self.level, seat.schema).inc()
        self._metrics.executing_seats.labels(self.level, seat.schema).inc(seat.seats)
        queue = seat.queue
        if queue is not None:
            queue.executing += 1
            queue.seats_in_use += seat.seats
            self._queued_seats_in_use += seat.seats
            queue.next_r += seat.work_r
        if not seat.future.done():
            seat.future.set_result(None)

    def _dispatch_as_much_as_possible(self) -> None:
        while self.waiting and self.seats_in_use < self._capacity:
            queue = self._next_queue()
            seat = queue.waiting[0]
            if seat.future.cancelled():
                # Its task was cancelled and has not yet run to withdraw it: do so here.
                self._take_head(queue)
                seat.state = _State.DONE
                self._count_given_up(deadline=False)
                self._metrics.rejected.labels(self.level, seat.schema, "time-out").inc()
                self._settle(queue)
                continue
            if not self._can_accommodate(seat.seats):
                break  # the head waits for its seats, and everyone behind it with it
            self._take_head(queue)
            if seat.work.final_seats > self._capacity:
                seat.work = seat.work.reshaped(self._capacity)
            self._start(seat)
            self._settle(queue)
        self._note_demand()

    def _next_queue(self) -> _Queue:
        """The queue whose head would finish first in virtual time; among equals the one
        that has waited longest for its turn. Its heap entry stays until `_take_head`."""
        while True:
            finish, ticket, index = self._heap[0]
            queue = self._queues.get(index)
            if queue is not None and queue.heap_key == (finish, ticket):
                return queue
            heapq.heappop(self._heap)

    def _take_head(self, queue: _Queue) -> None:
        """Take the head out of `queue`, the top of the heap, using up its heap entry."""
        heapq.heappop(self._heap)
        queue.heap_key = None
        self._leave_queue(queue.waiting.popleft())

    def _settle(self, queue: _Queue) -> None:
        """Bring a queue that just changed back into order: it is counted active while
        requests wait or execute in it, forgotten once it holds nothing, its `next_r` is
        never behind its head's arrival, and its heap entry follows its head's virtual
        finish."""
        active = not queue.empty
        if active != queue.active:
            queue.active = active
            self._active_queues += 1 if active else -1
        if not queue.waiting:
            queue.heap_key = None
            if not active and queue.seats_in_use == 0 and self._queues.get(queue.index) is queue:
                del self._queues[queue.index]
            return
        head = queue.waiting[0]
        if queue.next_r < head.arrival_r:
            queue.next_r = head.arrival_r
        finish = queue.next_r + head.work_r
        if queue.heap_key is not None and queue.heap_key[0] == finish:
            return  # keeps its place among equals
        queue.heap_key = (finish, next(self._tickets))
        heapq.heappush(self._heap, (*queue.heap_key, queue.index))
        if len(self._heap) > 2 * len(self._queues) + 16:
            # Stale entries outnumber live ones: rebuild from the queues with waiters.
            self._heap = [
                (*q.heap_key, q.index) for q in self._queues.values() if q.heap_key is not None
            ]
            heapq.heapify(self._heap)

    def _note_demand(self) -> None:
        self.demand.set(self.seats_in_use + self.seats_waiting)

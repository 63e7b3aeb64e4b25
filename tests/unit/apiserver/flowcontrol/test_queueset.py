"""A level's queue set: shuffle sharding, fair dispatch and every kind of refusal."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from client.timeouts import within
from master.apiserver.flowcontrol import queueset as queueset_module
from master.apiserver.flowcontrol.dispatcher import Dispatcher
from master.apiserver.flowcontrol.estimate import ONE_SEAT, WorkEstimate
from master.apiserver.flowcontrol.metrics import FlowControlMetrics
from master.apiserver.flowcontrol.model import (
    FlowSchema,
    GroupSubject,
    PolicyRule,
    PriorityLevel,
    Queuing,
    RequestDigest,
    ResourceRule,
)
from master.apiserver.flowcontrol.queueset import Dealer, QueueSet, Rejected, Seat
from tests.support.waiting import eventually


def test_the_dealer_deals_the_same_distinct_hand_for_the_same_hash() -> None:
    dealer = Dealer(64, 8)
    for hash_value in (0, 1, 12345, 2**63 + 7, 2**64 - 1):
        hand = dealer.deal(hash_value)
        assert hand == dealer.deal(hash_value)
        assert len(set(hand)) == 8
        assert all(0 <= card < 64 for card in hand)


def test_the_dealer_spreads_hands_over_the_whole_deck() -> None:
    dealer = Dealer(6, 2)
    hands = Counter(tuple(sorted(dealer.deal(h))) for h in range(6 * 5 * 100))
    assert len(hands) == 15  # every pair of queues is some flow's hand
    cards = Counter(card for h in range(3000) for card in dealer.deal(h))
    assert max(cards.values()) - min(cards.values()) <= 0.1 * max(cards.values())


@pytest.mark.parametrize(
    ("deck", "hand"),
    [
        pytest.param(4, 5, id="hand-beyond-deck"),
        pytest.param(2**20, 4, id="too-much-entropy"),
        pytest.param(4, 0, id="empty-hand"),
    ],
)
def test_the_dealer_refuses_impossible_hands(deck: int, hand: int) -> None:
    with pytest.raises(ValueError):
        Dealer(deck, hand)


def hashes_with_disjoint_hands(dealer: Dealer) -> tuple[int, int]:
    for a, b in itertools.combinations(range(1000), 2):
        if not set(dealer.deal(a)) & set(dealer.deal(b)):
            return a, b
    raise AssertionError("no two disjoint hands")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def queue_set(
    queuing: Queuing | None, limit: int, *, exempt: bool = False
) -> tuple[QueueSet, FlowControlMetrics]:
    metrics = FlowControlMetrics(CollectorRegistry())
    queues = QueueSet("level", metrics, exempt=exempt, clock=Clock())
    queues.configure(queuing, limit)
    return queues, metrics


def rejected(metrics: FlowControlMetrics, reason: str, schema: str = "s") -> float:
    value = metrics.registry.get_sample_value(
        "apiserver_flowcontrol_rejected_requests_total",
        {"priority_level": "level", "flow_schema": schema, "reason": reason},
    )
    return value or 0.0


def in_queue(metrics: FlowControlMetrics, schema: str = "s") -> float:
    value = metrics.registry.get_sample_value(
        "apiserver_flowcontrol_current_inqueue_requests",
        {"priority_level": "level", "flow_schema": schema},
    )
    return value or 0.0


async def test_a_heavy_flow_does_not_starve_a_light_one() -> None:
    queuing = Queuing(queues=8, hand_size=2, queue_length_limit=50)
    queues, _ = queue_set(queuing, limit=1)
    heavy, light = hashes_with_disjoint_hands(Dealer(8, 2))
    holder = await queues.acquire(heavy, "s", 10)
    order: list[str] = []

    async def request(flow: int, name: str) -> None:
        seat = await queues.acquire(flow, "s", 10)
        order.append(name)
        queues.release(seat)

    tasks = [asyncio.create_task(request(heavy, f"heavy-{i}")) for i in range(20)]
    await eventually(lambda: queues.waiting == 20, interval=0)
    tasks.append(asyncio.create_task(request(light, "light")))
    await eventually(lambda: queues.waiting == 21, interval=0)
    queues.release(holder)
    await asyncio.gather(*tasks)
    assert order.index("light") <= 2, order


async def test_a_reject_level_refuses_beyond_its_limit_at_once() -> None:
    queues, metrics = queue_set(None, limit=1)
    seat = await queues.acquire(1, "s", 10)
    with pytest.raises(Rejected) as refusal:
        await queues.acquire(2, "s", 10)
    assert refusal.value.reason == "concurrency-limit"
    assert rejected(metrics, "concurrency-limit") == 1
    queues.release(seat)
    queues.release(await queues.acquire(2, "s", 10))


async def test_a_full_queue_refuses_newcomers() -> None:
    queues, metrics = queue_set(Queuing(queues=1, hand_size=1, queue_length_limit=2), limit=1)
    holder = await queues.acquire(1, "s", 10)
    waiters = [asyncio.create_task(queues.acquire(1, "s", 10)) for _ in range(2)]
    await eventually(lambda: queues.waiting == 2, interval=0)
    with pytest.raises(Rejected) as refusal:
        await queues.acquire(1, "s", 10)
    assert refusal.value.reason == "queue-full"
    assert rejected(metrics, "queue-full") == 1
    queues.release(holder)
    for waiter in waiters:
        queues.release(await waiter)


async def test_a_waiter_is_refused_when_its_wait_limit_passes() -> None:
    queues, metrics = queue_set(Queuing(queues=4, hand_size=2, queue_length_limit=5), limit=1)
    holder = await queues.acquire(1, "s", 10)
    with pytest.raises(Rejected) as refusal:
        await queues.acquire(2, "s", 0.01)
    assert refusal.value.reason == "time-out"
    assert rejected(metrics, "time-out") == 1
    assert queues.waiting == 0 and in_queue(metrics) == 0
    queues.release(holder)
    assert queues.idle


async def test_a_cancelled_waiter_leaves_its_queue_and_the_next_one_is_served() -> None:
    queues, metrics = queue_set(Queuing(queues=1, hand_size=1, queue_length_limit=5), limit=1)
    holder = await queues.acquire(1, "s", 10)
    gone = asyncio.create_task(queues.acquire(1, "s", 10))
    await eventually(lambda: queues.waiting == 1, interval=0)
    next_in_line = asyncio.create_task(queues.acquire(1, "s", 10))
    await eventually(lambda: queues.waiting == 2, interval=0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert queues.waiting == 1 and in_queue(metrics) == 1
    assert rejected(metrics, "time-out") == 1  # as Kubernetes counts an abandoned wait
    queues.release(holder)
    seat = await next_in_line
    assert queues.executing == 1 and queues.waiting == 0
    queues.release(seat)
    assert queues.idle


async def test_a_waiter_cancelled_just_as_it_got_its_seat_gives_the_seat_on() -> None:
    queues, _ = queue_set(Queuing(queues=1, hand_size=1, queue_length_limit=5), limit=1)
    holder = await queues.acquire(1, "s", 10)
    unlucky = asyncio.create_task(queues.acquire(1, "s", 10))
    await eventually(lambda: queues.waiting == 1, interval=0)
    third = asyncio.create_task(queues.acquire(1, "s", 10))
    await eventually(lambda: queues.waiting == 2, interval=0)
    queues.release(holder)  # the seat goes to `unlucky`, whose task has not run yet
    unlucky.cancel()
    with pytest.raises(asyncio.CancelledError):
        await unlucky
    seat: Seat = await third
    assert queues.executing == 1
    queues.release(seat)
    assert queues.idle


async def test_an_exempt_set_never_waits() -> None:
    queues, _ = queue_set(None, limit=0, exempt=True)
    seats = [await queues.acquire(i, "s", 10) for i in range(50)]
    assert queues.executing == 50
    for seat in seats:
        queues.release(seat)


async def test_raising_the_limit_dispatches_waiters() -> None:
    queues, _ = queue_set(Queuing(queues=4, hand_size=2, queue_length_limit=5), limit=1)
    holder = await queues.acquire(1, "s", 10)
    waiter = asyncio.create_task(queues.acquire(2, "s", 10))
    await eventually(lambda: queues.waiting == 1, interval=0)
    queues.set_limit(2)
    seat = await waiter
    queues.release(seat)
    queues.release(holder)


async def test_fewer_queues_keep_their_waiters_until_they_drain() -> None:
    queues, _ = queue_set(Queuing(queues=8, hand_size=1, queue_length_limit=5), limit=1)
    holder = await queues.acquire(0, "s", 10)

    async def request(flow: int) -> None:
        queues.release(await queues.acquire(flow, "s", 10))

    waiters = [asyncio.create_task(request(h)) for h in range(8)]
    await eventually(lambda: queues.waiting == 8, interval=0)
    queues.configure(Queuing(queues=1, hand_size=1, queue_length_limit=5), 1)
    assert queues.waiting == 8
    queues.release(holder)
    await asyncio.gather(*waiters)
    assert queues.idle
    assert queues.queues_held == 0


async def test_queues_with_equal_claims_take_turns() -> None:
    queues, _ = queue_set(Queuing(queues=3, hand_size=1, queue_length_limit=50), limit=1)
    holder = await queues.acquire(0, "s", 10)
    order: list[int] = []

    async def request(flow: int) -> None:
        seat = await queues.acquire(flow, "s", 10)
        order.append(flow)
        queues.release(seat)  # on a clock that stands still: exactly the estimate

    tasks = [asyncio.create_task(request(flow)) for flow in (0, 0, 0, 1, 1, 1, 2, 2, 2)]
    await eventually(lambda: queues.waiting == 9, interval=0)
    queues.release(holder)
    await asyncio.gather(*tasks)
    assert all(sorted(order[i : i + 3]) == [0, 1, 2] for i in range(0, 9, 3)), order


class QueueCensus:
    """Counts the queue objects a queue set makes, and every read of their attributes
    (a scan of all queues would read at least one per queue)."""

    def __init__(self, most: int) -> None:
        self.created = 0
        self.reads = 0
        census = self

        class CountedQueue(queueset_module._Queue):
            def __init__(self, *args: int) -> None:
                census.created += 1
                if census.created > most:
                    raise AssertionError(f"more than {most} queue objects made")
                super().__init__(*args)

            def __getattribute__(self, name: str) -> object:
                census.reads += 1
                return super().__getattribute__(name)

        self.queue_class = CountedQueue


@pytest.fixture
def census(monkeypatch: pytest.MonkeyPatch) -> Iterator[QueueCensus]:
    counted = QueueCensus(most=100)
    monkeypatch.setattr(queueset_module, "_Queue", counted.queue_class)
    yield counted


TEN_MILLION = 10**7


async def test_ten_million_queues_cost_only_the_queues_in_use(census: QueueCensus) -> None:
    queues, _ = queue_set(Queuing(queues=TEN_MILLION, hand_size=1, queue_length_limit=50), 2)
    assert census.created == 0 and queues.queues_held == 0
    flows = [7, TEN_MILLION - 1, 2**40 + 3, 123_456_789, 42]  # five distinct queues
    running = [await queues.acquire(flows[0], "s", 10), await queues.acquire(flows[1], "s", 10)]
    served: list[int] = []

    async def request(flow: int) -> None:
        seat = await queues.acquire(flow, "s", 10)
        served.append(flow)
        queues.release(seat)

    waiters = [asyncio.create_task(request(flow)) for flow in flows * 4]
    await eventually(lambda: queues.waiting == 20, interval=0)
    assert queues.queues_held == 5
    reads_before = census.reads
    for seat in running:
        queues.release(seat)
    await asyncio.gather(*waiters)
    assert sorted(served) == sorted(flows * 4)
    # 22 releases and 20 dispatches touched the queues a bounded number of times each,
    # whatever the number of queues configured.
    assert census.reads - reads_before < 42 * 30
    assert queues.idle and queues.queues_held == 0
    assert census.created <= 5 + 2  # one per flow while busy; made again after idling
    reads_before = census.reads
    queues.release(await queues.acquire(flows[2], "s", 10))
    assert census.reads - reads_before < 50
    assert queues.queues_held == 0


async def test_a_dispatcher_accepts_ten_million_queues_and_makes_only_those_used(
    census: QueueCensus,
) -> None:
    d = Dispatcher(20, FlowControlMetrics(CollectorRegistry()))
    huge = PriorityLevel("huge", nominal_concurrency_shares=10, queuing=Queuing(TEN_MILLION, 2, 50))
    everything = ResourceRule(("*",), ("*",), ("*",), cluster_scope=True, namespaces=("*",))
    schema = FlowSchema(
        "all", "huge", 100, "ByUser", rules=(PolicyRule((GroupSubject("*"),), (everything,)),)
    )
    d.configure([schema], [huge])
    assert census.created == 0
    for user in ("alice", "bob", "carol"):
        async with d.admit(RequestDigest(user=user, verb="list", resource="pods")) as admitted:
            assert admitted.priority_level == "huge"
    assert census.created == 3


# Work estimates: requests wider than one seat -------------------------------------------


def executing_seats(metrics: FlowControlMetrics, schema: str = "s") -> float:
    value = metrics.registry.get_sample_value(
        "apiserver_flowcontrol_current_executing_seats",
        {"priority_level": "level", "flow_schema": schema},
    )
    return value or 0.0


def queue_of(dealer: Dealer, flows: int) -> list[int]:
    """Flow hashes each dealt a different queue (hand size 1)."""
    found: dict[int, int] = {}
    for h in range(1000):
        found.setdefault(dealer.deal(h)[0], h)
        if len(found) == flows:
            return list(found.values())
    raise AssertionError(f"no {flows} flows in distinct queues")


async def test_a_wide_request_waits_for_its_seats_and_the_narrower_ones_behind_it_too() -> None:
    queues, metrics = queue_set(Queuing(queues=1, hand_size=1, queue_length_limit=50), limit=4)
    first = await queues.acquire(1, "s", 10)
    second = await queues.acquire(1, "s", 10)
    started: list[str] = []

    async def request(name: str, work: WorkEstimate) -> Seat:
        seat = await queues.acquire(1, "s", 10, work=work)
        started.append(name)
        return seat

    wide = asyncio.create_task(request("wide", WorkEstimate(3)))
    await eventually(lambda: queues.waiting == 1, interval=0)
    narrow = asyncio.create_task(request("narrow", ONE_SEAT))
    await eventually(lambda: queues.waiting == 2, interval=0)
    # Two seats are free, enough for the narrow request, but the wide one is ahead of it.
    assert queues.seats_in_use == 2 and queues.seats_waiting == 4
    assert started == []
    queues.release(first)
    wide_seat = await wide
    assert started == ["wide"]
    assert queues.seats_in_use == 4 and executing_seats(metrics) == 4
    assert queues.executing == 2 and queues.waiting == 1
    queues.release(second)
    narrow_seat = await narrow
    assert started == ["wide", "narrow"] and queues.seats_in_use == 4
    queues.release(wide_seat)
    queues.release(narrow_seat)
    assert queues.idle and queues.seats_in_use == 0 and executing_seats(metrics) == 0


async def test_final_seats_are_held_after_the_request_returns_then_given_on() -> None:
    queues, metrics = queue_set(Queuing(queues=1, hand_size=1, queue_length_limit=50), limit=3)
    writer = await queues.acquire(1, "s", 10, work=WorkEstimate(1, 3, 0.05))
    assert queues.seats_in_use == 3
    waiter = asyncio.create_task(queues.acquire(1, "s", 10))
    await eventually(lambda: queues.waiting == 1, interval=0)
    queues.release(writer)  # returns at once: the caller never waits for the final phase
    assert queues.executing == 0 and executing_seats(metrics) == 3
    [queue] = queues.snapshot().queues
    assert queue.seats_in_use == 3 and queue.executing == ()  # not executing, still seated
    assert not waiter.done()
    seat = await within(waiter, 5.0)  # once the 50 ms have passed
    assert queues.seats_in_use == 1 and executing_seats(metrics) == 1
    queues.release(seat)
    assert queues.idle and queues.queues_held == 0


async def test_a_request_wider_than_the_limit_runs_when_nothing_else_does() -> None:
    refusing, _ = queue_set(None, limit=2)
    wide = await refusing.acquire(1, "s", 10, work=WorkEstimate(5))
    assert refusing.seats_in_use == 5
    with pytest.raises(Rejected):
        await refusing.acquire(2, "s", 10)
    refusing.release(wide)
    narrow = await refusing.acquire(2, "s", 10)
    with pytest.raises(Rejected):
        await refusing.acquire(1, "s", 10, work=WorkEstimate(5))
    refusing.release(narrow)

    queues, _ = queue_set(Queuing(queues=1, hand_size=1, queue_length_limit=50), limit=2)
    holder = await queues.acquire(1, "s", 10)
    waiting = asyncio.create_task(queues.acquire(1, "s", 10, work=WorkEstimate(1, 6, 0.005)))
    await eventually(lambda: queues.waiting == 1, interval=0)
    queues.release(holder)
    seat = await waiting
    # Its final work (6 seats for 5 ms) narrowed to the limit: 2 seats for 15 ms.
    assert seat.work == WorkEstimate(1, 2, 0.015)
    assert queues.seats_in_use == 2
    queues.release(seat)
    await eventually(lambda: queues.seats_in_use == 0, timeout=5.0)


async def test_the_queue_whose_head_would_finish_first_in_virtual_time_goes_first() -> None:
    queues, _ = queue_set(Queuing(queues=8, hand_size=1, queue_length_limit=50), limit=1)
    other, heavy, light = queue_of(Dealer(8, 1), 3)
    holder = await queues.acquire(other, "s", 10)
    order: list[str] = []

    async def request(flow: int, name: str, work: WorkEstimate) -> Seat:
        seat = await queues.acquire(flow, "s", 10, work=work)
        order.append(name)
        return seat

    # The heavy request arrives first, but holds a seat 100 ms more once done.
    first = asyncio.create_task(request(heavy, "heavy", WorkEstimate(1, 1, 0.1)))
    await eventually(lambda: queues.waiting == 1, interval=0)
    second = asyncio.create_task(request(light, "light", ONE_SEAT))
    await eventually(lambda: queues.waiting == 2, interval=0)
    queues.release(holder)
    light_seat = await second
    assert order == ["light"]
    next_r = {q.index: q.next_r for q in queues.snapshot().queues}
    assert next_r[Dealer(8, 1).deal(light)[0]] == pytest.approx(0.003)  # 1 seat for 3 ms
    queues.release(light_seat)  # on a clock that stands still: 3 ms less than estimated
    heavy_seat = await first
    next_r = {q.index: q.next_r for q in queues.snapshot().queues}
    # Its work: 1 seat for 3 ms, then 1 seat for 100 ms.
    assert next_r[Dealer(8, 1).deal(heavy)[0]] == pytest.approx(0.103)
    queues.release(heavy_seat)
    await eventually(lambda: queues.seats_in_use == 0, timeout=5.0)


async def test_a_request_joins_the_queue_of_its_hand_with_the_least_work_waiting() -> None:
    queues, _ = queue_set(Queuing(queues=2, hand_size=2, queue_length_limit=50), limit=1)
    holder = await queues.acquire(0, "s", 10)
    works = [WorkEstimate(1, 1, 0.1), ONE_SEAT, ONE_SEAT, ONE_SEAT]
    waiters: list[asyncio.Task[Seat]] = []
    for work in works:
        waiters.append(asyncio.create_task(queues.acquire(0, "s", 10, work=work)))
        await eventually(lambda: queues.waiting == len(waiters), interval=0)
    # Three narrow requests wait less, together, than the one with a final phase.
    assert sorted(len(q.waiting) for q in queues.snapshot().queues) == [1, 3]
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    queues.release(holder)
    assert queues.idle

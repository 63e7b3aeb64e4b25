"""The scheduling queue: priority then age, back-off, unschedulable pods and events."""

from __future__ import annotations

import asyncio

from client.timeouts import within
from master.scheduler.queue import SchedulingQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def drain(q: SchedulingQueue) -> list[str]:
    out = []
    for _ in range(100):
        qp = await q.pop(max_wait=0)
        if qp is None:
            break
        out.append(qp.key)
    return out


async def test_higher_priority_pops_first_then_older():
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    q.add("ns/old-low", 0)
    clock.now += 1
    q.add("ns/high", 100)
    clock.now += 1
    q.add("ns/new-low", 0)
    assert await drain(q) == ["ns/high", "ns/old-low", "ns/new-low"]


async def test_adding_a_key_twice_queues_it_once():
    q = SchedulingQueue(clock=Clock())
    q.add("ns/p", 0)
    q.add("ns/p", 0)
    assert await drain(q) == ["ns/p"]


async def test_a_deleted_pod_is_never_popped():
    q = SchedulingQueue(clock=Clock())
    q.add("ns/a", 0)
    q.add("ns/b", 0)
    q.delete("ns/a")
    assert await drain(q) == ["ns/b"]


async def test_an_unschedulable_pod_waits_for_a_cluster_event():
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    q.add("ns/p", 0)
    await q.pop(max_wait=0)
    q.requeue("ns/p", unschedulable=True)
    assert q.lengths()["unschedulable"] == 1
    assert await drain(q) == []
    clock.now += 5  # past its 1 s back-off
    q.move_all_to_active_or_backoff()
    assert await drain(q) == ["ns/p"]


async def test_an_event_during_the_attempt_sends_the_pod_to_backoff_not_unschedulable():
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    q.add("ns/p", 0)
    await q.pop(max_wait=0)
    q.move_all_to_active_or_backoff()  # e.g. a node was added while we were deciding
    q.requeue("ns/p", unschedulable=True)
    assert q.lengths() == {"active": 0, "backoff": 1, "unschedulable": 0}


async def test_backoff_doubles_with_each_failure_and_is_capped():
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    q.add("ns/p", 0)
    waits = []
    for _ in range(6):
        qp = await q.pop(max_wait=0)
        assert qp is not None
        q.requeue("ns/p", unschedulable=False)
        waits.append(qp.backoff_until() - clock.now)
        clock.now += 60
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


async def test_a_backing_off_pod_is_not_ready_before_its_time():
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    q.add("ns/p", 0)
    await q.pop(max_wait=0)
    q.requeue("ns/p", unschedulable=False)
    assert await drain(q) == []
    clock.now += 1.0
    assert await drain(q) == ["ns/p"]


async def test_unschedulable_pods_are_retried_after_the_timeout_without_events():
    clock = Clock()
    q = SchedulingQueue(clock=clock, unschedulable_timeout=30)
    q.add("ns/p", 0)
    await q.pop(max_wait=0)
    q.requeue("ns/p", unschedulable=True)
    clock.now += 29
    assert await drain(q) == []
    clock.now += 2
    assert await drain(q) == ["ns/p"]


async def test_pop_waits_for_an_add():
    q = SchedulingQueue()
    popper = asyncio.create_task(q.pop(max_wait=5))
    q.add("ns/p", 0)
    qp = await within(popper, timeout=5)
    assert qp is not None and qp.key == "ns/p"

"""The APF debug dumps: kube-apiserver's text tables, from a dispatcher with a known
configuration, a fake clock and requests held waiting and executing.

The configuration: a server limit of 3 over the shares of "workload" (10, borrowing
nothing) and the mandatory catch-all (5) gives "workload" exactly 2 seats; its one queue
takes every flow. Alice holds both seats from clock 100, bob (at 101) and carol (at
101.5) wait in that order, and root, in system:masters, runs in the exempt level (no
queue) from 101.5. The dumps are taken at clock 102, dated 2027-01-15T08:00:02Z.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from client import errors
from master.apiserver.flowcontrol import debug
from master.apiserver.flowcontrol.dispatcher import Dispatcher, LevelSnapshot
from master.apiserver.flowcontrol.estimate import StoreCounts, WorkEstimate
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
from master.apiserver.flowcontrol.queueset import QueueSet, Seat
from tests.support.waiting import eventually

EVERYTHING = ResourceRule(("*",), ("*",), ("*",), cluster_scope=True, namespaces=("*",))
WORKLOAD = FlowSchema(
    "workload",
    "workload",
    9000,
    distinguisher="ByUser",
    rules=(PolicyRule((GroupSubject("system:authenticated"),), (EVERYTHING,)),),
)
WALL_AT_102 = 1_800_000_002.0
"""2027-01-15T08:00:02Z: the wall time when the fake clock reads 102."""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def workload_level(queue_length_limit: int) -> PriorityLevel:
    return PriorityLevel(
        "workload",
        nominal_concurrency_shares=10,
        borrowing_limit_percent=0,
        queuing=Queuing(queues=1, hand_size=1, queue_length_limit=queue_length_limit),
    )


def dispatcher(clock: Clock, queue_length_limit: int = 5) -> Dispatcher:
    d = Dispatcher(3, FlowControlMetrics(CollectorRegistry()), 60.0, clock=clock)
    d.configure([WORKLOAD], [workload_level(queue_length_limit)])
    assert d.limits("workload")[1] == 2
    return d


def pods(user: str) -> RequestDigest:
    return RequestDigest(
        user=user,
        groups=("system:authenticated",),
        verb="list",
        api_version="v1",
        resource="pods",
        namespace="default",
    )


ROOTS_DEPLOYMENT = RequestDigest(
    user="root",
    groups=("system:masters", "system:authenticated"),
    verb="get",
    api_group="apps",
    api_version="v1",
    resource="deployments",
    namespace="prod",
    name="web",
)


class Requests:
    """Requests admitted (or waiting) until released or cancelled."""

    def __init__(self, d: Dispatcher) -> None:
        self.d = d
        self.release = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, digest: RequestDigest) -> asyncio.Task[None]:
        async def hold() -> None:
            async with self.d.admit(digest):
                await self.release.wait()

        task = asyncio.create_task(hold())
        self.tasks.append(task)
        return task

    async def finish(self) -> None:
        self.release.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def requests(d: Dispatcher) -> AsyncIterator[Requests]:
    held = Requests(d)
    try:
        yield held
    finally:
        await held.finish()


def level_state(d: Dispatcher, name: str) -> tuple[int, int]:
    """(waiting, executing) of a level."""
    level = next(level for level in d.snapshot() if level.name == name)
    return level.queues.waiting, level.queues.executing


@contextlib.asynccontextmanager
async def the_scene() -> AsyncIterator[Dispatcher]:
    """The module docstring's requests, held while the test dumps."""
    clock = Clock()
    d = dispatcher(clock)
    async with requests(d) as held:
        held.start(pods("alice"))
        held.start(pods("alice"))
        await eventually(lambda: level_state(d, "workload") == (0, 2), interval=0)
        clock.now = 101.0
        held.start(pods("bob"))
        await eventually(lambda: level_state(d, "workload") == (1, 2), interval=0)
        clock.now = 101.5
        held.start(pods("carol"))
        await eventually(lambda: level_state(d, "workload") == (2, 2), interval=0)
        held.start(ROOTS_DEPLOYMENT)
        await eventually(lambda: level_state(d, "exempt") == (0, 1), interval=0)
        clock.now = 102.0
        yield d


def test_the_table_is_aligned_as_gos_tabwriter_aligns_comma_tab_cells() -> None:
    # Every cell but the last is padded to its column's widest plus one, at least 8.
    assert debug.table([["PriorityLevelName", "IsIdle", "Last"], ["exempt", "true", "x"]]) == (
        "PriorityLevelName, IsIdle, Last\nexempt,            true,   x\n"
    )


def test_seat_seconds_and_times_are_written_as_go_writes_them() -> None:
    assert debug.seat_seconds(0) == "0.00000000ss"
    assert debug.seat_seconds(12 * 10**8 + 300_000) == "12.00300000ss"
    assert debug.rfc3339nano(1_800_000_000.0) == "2027-01-15T08:00:00Z"
    assert debug.rfc3339nano(1_800_000_000.25) == "2027-01-15T08:00:00.25Z"


async def test_dump_priority_levels_prints_each_level_by_name_with_its_requests() -> None:
    async with the_scene() as d:
        text = debug.dump_priority_levels(d.snapshot())
    assert text == (
        "PriorityLevelName, ActiveQueues, IsIdle, IsQuiescing, WaitingRequests, "
        "ExecutingRequests, DispatchedRequests, RejectedRequests, TimedoutRequests, "
        "CancelledRequests\n"
        "catch-all,         0,            true,   false,       0,               "
        "0,                 0,                  0,                0,                "
        "0\n"
        "exempt,            0,            false,  false,       0,               "
        "1,                 1,                  0,                0,                "
        "0\n"
        "workload,          1,            false,  false,       2,               "
        "2,                 2,                  0,                0,                "
        "0\n"
    )


async def test_dump_priority_levels_counts_rejected_timed_out_and_cancelled_requests() -> None:
    clock = Clock()
    d = dispatcher(clock, queue_length_limit=1)
    async with requests(d) as held:
        held.start(pods("alice"))
        held.start(pods("alice"))
        await eventually(lambda: level_state(d, "workload") == (0, 2), interval=0)
        d.queue_wait_limit = 0.0
        with pytest.raises(errors.TooManyRequests):
            async with d.admit(pods("bob")):
                pass  # refused when its (zero) wait limit passes
        d.queue_wait_limit = 60.0
        carol = held.start(pods("carol"))
        await eventually(lambda: level_state(d, "workload") == (1, 2), interval=0)
        with pytest.raises(errors.TooManyRequests):
            async with d.admit(pods("dave")):
                pass  # refused at once: carol fills the queue
        carol.cancel()  # carol's client goes away
        await eventually(lambda: level_state(d, "workload") == (0, 2), interval=0)
        rows = debug.dump_priority_levels(d.snapshot()).splitlines()
    workload = [cell.strip() for cell in rows[3].split(",")]
    # Rejected: bob, dave and carol; timed out: bob; cancelled: bob and carol.
    assert workload == ["workload", "0", "false", "false", "0", "2", "2", "3", "1", "2"]


async def test_dump_queues_lists_the_queues_holding_requests_with_their_virtual_start() -> None:
    async with the_scene() as d:
        text = debug.dump_queues(d.snapshot())
    # Virtual time ran at 2 seats over 1 queue for the second until bob came: his turn
    # starts at R = 2. Each waiter is 3 ms of one seat of work.
    assert text == (
        "PriorityLevelName, Index,  PendingRequests, ExecutingRequests, SeatsInUse, "
        "NextDispatchR, InitialSeatsSum, MaxSeatsSum, TotalWorkSum\n"
        "workload,          0,      2,               2,                 2,          "
        "2.00000000ss,  2,               2,           0.00600000ss\n"
    )


async def test_dump_requests_lists_waiters_in_order_then_executing_then_queueless() -> None:
    async with the_scene() as d:
        text = debug.dump_requests(d.snapshot(), wall=WALL_AT_102)
    assert text == (
        "PriorityLevelName, FlowSchemaName, QueueIndex, RequestIndexInQueue, "
        "FlowDistingsher, ArriveTime,             InitialSeats, FinalSeats, "
        "AdditionalLatency, StartTime\n"
        "exempt,            exempt,         -1,         -1,                  "
        ",                2027-01-15T08:00:01.5Z, 1,            0,          "
        "0s,                2027-01-15T08:00:01.5Z\n"
        "workload,          workload,       0,          0,                   "
        "bob,             2027-01-15T08:00:01Z,   1,            0,          "
        "0s,                0001-01-01T00:00:00Z\n"
        "workload,          workload,       0,          1,                   "
        "carol,           2027-01-15T08:00:01.5Z, 1,            0,          "
        "0s,                0001-01-01T00:00:00Z\n"
        "workload,          workload,       0,          -1,                  "
        "alice,           2027-01-15T08:00:00Z,   1,            0,          "
        "0s,                2027-01-15T08:00:00Z\n"
        "workload,          workload,       0,          -1,                  "
        "alice,           2027-01-15T08:00:00Z,   1,            0,          "
        "0s,                2027-01-15T08:00:00Z\n"
    )


async def test_dump_requests_with_details_names_the_user_and_the_request() -> None:
    async with the_scene() as d:
        rows = debug.dump_requests(d.snapshot(), details=True, wall=WALL_AT_102).splitlines()
    cells = [[cell.strip() for cell in row.split(",")] for row in rows]
    assert cells[0][10:] == [
        "UserName",
        "Verb",
        "APIPath",
        "Namespace",
        "Name",
        "APIVersion",
        "Resource",
        "SubResource",
    ]
    assert cells[1][10:] == [
        "root",
        "get",
        "/apis/apps/v1/namespaces/prod/deployments/web",
        "prod",
        "web",
        "apps/v1",
        "deployments",
        "",
    ]
    assert cells[2][10:] == [
        "bob",
        "list",
        "/api/v1/namespaces/default/pods",
        "default",
        "",
        "v1",
        "pods",
        "",
    ]


def test_api_path_gives_a_namespace_object_its_own_path_and_a_non_resource_request_its_url() -> (
    None
):
    namespace = RequestDigest(user="u", api_version="v1", resource="namespaces", name="prod")
    assert debug.api_path(namespace) == "/api/v1/namespaces/prod"
    healthz = RequestDigest(user="u", is_resource_request=False, path="/healthz")
    assert debug.api_path(healthz) == "/healthz"


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split(",")]


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (750, "750ns"),
        (1_500, "1.5µs"),
        (5_000_000, "5ms"),
        (7_500_000, "7.5ms"),
        (21_666_666, "21.666666ms"),
        (2_500_000_000, "2.5s"),
        (60 * 10**9, "1m0s"),
        (3_723_500_000_000, "1h2m3.5s"),
    ],
)
def test_additional_latencies_are_written_as_go_writes_a_duration(ns: int, text: str) -> None:
    assert debug.go_duration(ns) == text


async def test_the_queue_and_request_dumps_count_each_request_by_its_work_estimate() -> None:
    clock = Clock()
    queues = QueueSet("wide", FlowControlMetrics(CollectorRegistry()), exempt=False, clock=clock)
    queues.configure(Queuing(queues=1, hand_size=1, queue_length_limit=50), 2)
    holder = await queues.acquire(1, "workload", 60)
    writer = await queues.acquire(1, "workload", 60, work=WorkEstimate(1, 1, 0.05))
    queues.release(writer)  # its final phase holds its seat, out of the request dump
    waiters: list[asyncio.Task[Seat]] = []
    for work in (WorkEstimate(3), WorkEstimate(1, 2, 0.005)):
        waiters.append(asyncio.create_task(queues.acquire(1, "workload", 60, work=work)))
        await eventually(lambda: queues.waiting == len(waiters), interval=0)
    levels = [LevelSnapshot("wide", False, queues.snapshot())]
    queue_rows = debug.dump_queues(levels).splitlines()
    request_rows = debug.dump_requests(levels, wall=WALL_AT_102).splitlines()
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    queues.release(holder)
    await eventually(lambda: queues.seats_in_use == 0, timeout=5.0)
    # Two seats in use (the holder's and the writer's final one); waiting: 3 + 1 initial
    # seats, 3 + 2 wide, 3 x 3 ms + (3 ms + 2 x 5 ms) of work. The queue's virtual start
    # went 3 ms for the holder, 53 ms for the writer, less the 3 ms it did not run.
    assert cells(queue_rows[1]) == [
        "wide",
        "0",
        "2",
        "1",
        "2",
        "0.05300000ss",
        "4",
        "5",
        "0.02200000ss",
    ]
    assert [cells(row)[6:9] for row in request_rows[1:]] == [
        ["3", "0", "0s"],
        ["1", "2", "5ms"],
        ["1", "0", "0s"],  # the holder, executing; the writer is not listed
    ]


async def test_dump_requests_shows_a_writes_final_seats_and_additional_latency() -> None:
    d = dispatcher(Clock())
    write = dataclasses.replace(ROOTS_DEPLOYMENT, verb="update")
    # 150 watchers: 15 seats for 5 ms after the write, narrowed to 10 for 7.5 ms.
    async with d.admit(write, counts=StoreCounts(watchers=150)):
        rows = debug.dump_requests(d.snapshot(), wall=WALL_AT_102).splitlines()
    assert cells(rows[1])[:2] == ["exempt", "exempt"]
    assert cells(rows[1])[6:9] == ["1", "10", "7.5ms"]
    exempt = next(level for level in d.snapshot() if level.name == "exempt")
    assert exempt.queues.seats_in_use == 10 and exempt.queues.idle
    await eventually(
        lambda: next(lv for lv in d.snapshot() if lv.name == "exempt").queues.seats_in_use == 0,
        timeout=5.0,
    )

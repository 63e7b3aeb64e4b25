"""The dispatcher: classification into levels, seats, refusals and reconfiguration."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from client import errors
from master.apiserver.flowcontrol.dispatcher import Admission, Dispatcher
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
from tests.support.waiting import eventually

EVERYONE = (GroupSubject("*"),)


def rule(resources: tuple[str, ...], api_groups: tuple[str, ...] = ("*",)) -> PolicyRule:
    return PolicyRule(
        EVERYONE,
        (ResourceRule(("*",), api_groups, resources, cluster_scope=True, namespaces=("*",)),),
    )


LEASES = FlowSchema(
    "leader-election", "leader-election", 100, rules=(rule(("leases",)),), uid="fs-le"
)
WORKLOAD = FlowSchema(
    "workload", "workload", 9000, distinguisher="ByUser", rules=(rule(("*",)),), uid="fs-wl"
)
LEADER_LEVEL = PriorityLevel(
    "leader-election", nominal_concurrency_shares=5, queuing=Queuing(16, 4, 50), uid="pl-le"
)
WORKLOAD_LEVEL = PriorityLevel(
    "workload", nominal_concurrency_shares=10, queuing=Queuing(8, 2, 2), uid="pl-wl"
)


def pods(user: str = "alice", **fields: object) -> RequestDigest:
    values: dict[str, object] = {
        "user": user,
        "groups": ("system:authenticated",),
        "verb": "list",
        "resource": "pods",
    }
    values.update(fields)
    return RequestDigest(**values)  # type: ignore[arg-type]


def lease(user: str = "node-1") -> RequestDigest:
    return RequestDigest(
        user=user,
        groups=("system:nodes",),
        verb="update",
        api_group="coordination.k8s.io",
        resource="leases",
        namespace="kube-node-lease",
    )


def dispatcher(server_limit: int = 20, wait_limit: float = 10.0) -> Dispatcher:
    # 20 seats over 5 + 10 + 5 (catch-all) shares: leader-election 5, workload 10.
    d = Dispatcher(server_limit, FlowControlMetrics(CollectorRegistry()), wait_limit)
    d.configure([LEASES, WORKLOAD], [LEADER_LEVEL, WORKLOAD_LEVEL])
    return d


def sample(d: Dispatcher, name: str, **labels: str) -> float:
    return d.metrics.registry.get_sample_value(name, labels) or 0.0


class Holders:
    """Requests admitted and held open until released."""

    def __init__(self, d: Dispatcher) -> None:
        self.d = d
        self.release = asyncio.Event()
        self.admitted: list[Admission] = []
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, digest: RequestDigest) -> asyncio.Task[None]:
        async def hold() -> None:
            async with self.d.admit(digest) as admission:
                self.admitted.append(admission)
                await self.release.wait()

        task = asyncio.create_task(hold())
        self.tasks.append(task)
        return task

    async def finish(self) -> list[BaseException | None]:
        self.release.set()
        return list(await asyncio.gather(*self.tasks, return_exceptions=True))


@contextlib.asynccontextmanager
async def holders(d: Dispatcher) -> AsyncIterator[Holders]:
    h = Holders(d)
    try:
        yield h
    finally:
        await h.finish()


async def test_a_request_is_admitted_with_its_schema_and_level_and_their_uids() -> None:
    d = dispatcher()
    async with d.admit(pods()) as admission:
        assert admission == Admission("workload", "fs-wl", "workload", "pl-wl", "alice")
    assert (
        sample(
            d,
            "apiserver_flowcontrol_dispatched_requests_total",
            priority_level="workload",
            flow_schema="workload",
        )
        == 1
    )
    assert d.classify(lease()).priority_level_uid == "pl-le"


def test_the_nominal_and_current_limits_are_reported_per_level() -> None:
    d = dispatcher()
    assert d.limits("workload")[0].nominal == 10
    for name in ("nominal_limit_seats", "current_limit_seats"):
        assert sample(d, f"apiserver_flowcontrol_{name}", priority_level="workload") == 10
        assert sample(d, f"apiserver_flowcontrol_{name}", priority_level="catch-all") == 5


async def test_a_saturated_level_refuses_with_too_many_requests() -> None:
    d = dispatcher(wait_limit=10)
    async with holders(d) as h:
        for i in range(10 + 8 * 2):  # every seat, then every queue of both hands full
            h.start(pods(user=f"u{i % 2}"))
        await eventually(lambda: len(h.admitted) == 10, interval=0)
        with pytest.raises(errors.TooManyRequests) as refusal:
            async with d.admit(pods(user="u0")):
                pass
        assert refusal.value.retry_after == 1
        assert (
            sample(
                d,
                "apiserver_flowcontrol_rejected_requests_total",
                priority_level="workload",
                flow_schema="workload",
                reason="queue-full",
            )
            >= 1
        )


async def test_a_refused_request_is_told_where_it_belongs_before_it_is_refused() -> None:
    d = dispatcher(wait_limit=10)
    told: list[Admission] = []
    async with holders(d) as h:
        for i in range(10 + 8 * 2):
            h.start(pods(user=f"u{i % 2}"))
        await eventually(lambda: len(h.admitted) == 10, interval=0)
        with pytest.raises(errors.TooManyRequests):
            async with d.admit(pods(user="u0"), told.append):
                pass
    assert told == [Admission("workload", "fs-wl", "workload", "pl-wl", "u0")]


async def test_lease_renewals_go_through_while_another_level_is_saturated() -> None:
    d = dispatcher()
    async with holders(d) as h:
        for i in range(40):
            h.start(pods(user=f"u{i}"))
        await eventually(lambda: len(h.admitted) == 10, interval=0)
        assert d.limits("workload")[1] == 10
        for node in range(5):
            async with d.admit(lease(f"node-{node}")) as admission:
                assert admission.priority_level == "leader-election"
        results = await h.finish()
    assert any(isinstance(r, errors.TooManyRequests) for r in results)


async def test_exempt_requests_never_wait() -> None:
    d = dispatcher(server_limit=2)
    admin = RequestDigest(
        user="root", groups=("system:masters",), verb="delete", resource="pods", namespace="x"
    )
    async with holders(d) as h:
        for _ in range(30):
            h.start(admin)
        await eventually(lambda: len(h.admitted) == 30, interval=0)
    assert {a.priority_level for a in h.admitted} == {"exempt"}


@pytest.mark.parametrize("verb", ["log", "exec", "attach", "portforward"])
async def test_pod_streams_are_classified_but_take_no_seat(verb: str) -> None:
    d = dispatcher()
    async with holders(d) as h:
        for i in range(20):
            h.start(pods(user=f"u{i}", verb=verb, long_running=True))
        await eventually(lambda: len(h.admitted) == 20, interval=0)
        assert executing(d) == 0
        h.admitted[0].release_seat()  # holds none: nothing to give back
        assert executing(d) == 0
        async with d.admit(pods()):
            pass


def executing(d: Dispatcher, metric: str = "requests") -> float:
    return sample(
        d,
        f"apiserver_flowcontrol_current_executing_{metric}",
        priority_level="workload",
        flow_schema="workload",
    )


def watch(user: str) -> RequestDigest:
    return pods(user=user, verb="watch", long_running=True)


async def test_a_watch_waits_for_a_seat_like_a_list_when_the_level_is_full() -> None:
    d = dispatcher()
    async with holders(d) as h:
        for i in range(10):
            h.start(pods(user=f"u{i}"))
        await eventually(lambda: len(h.admitted) == 10, interval=0)
        h.start(watch("watcher"))
        await eventually(
            lambda: (
                sample(
                    d,
                    "apiserver_flowcontrol_current_inqueue_requests",
                    priority_level="workload",
                    flow_schema="workload",
                )
                == 1
            ),
            interval=0,
        )
        assert len(h.admitted) == 10
    assert len(h.admitted) == 11


async def test_a_released_seat_goes_to_the_next_request_while_the_watch_runs_on() -> None:
    d = dispatcher()
    initialised = asyncio.Event()
    watch_done = asyncio.Event()
    watch_admitted: list[Admission] = []

    async def run_watch() -> None:
        async with d.admit(watch("watcher")) as admission:
            watch_admitted.append(admission)
            await initialised.wait()
            admission.release_seat()
            admission.release_seat()  # a second call changes nothing
            await watch_done.wait()

    async with holders(d) as h:
        for i in range(9):
            h.start(pods(user=f"u{i}"))
        await eventually(lambda: len(h.admitted) == 9, interval=0)
        watcher = asyncio.create_task(run_watch())
        await eventually(lambda: watch_admitted, interval=0)
        assert watch_admitted[0].priority_level == "workload"
        assert executing(d) == 10 and executing(d, "seats") == 10
        h.start(pods(user="late"))
        await eventually(
            lambda: (
                sample(
                    d,
                    "apiserver_flowcontrol_current_inqueue_requests",
                    priority_level="workload",
                    flow_schema="workload",
                )
                == 1
            ),
            interval=0,
        )
        initialised.set()  # the watch's initial events are out
        await eventually(lambda: len(h.admitted) == 10, interval=0)
        assert not watcher.done()  # still inside its context, without a seat
        assert executing(d) == 10 and executing(d, "seats") == 10
        assert (
            sample(
                d,
                "apiserver_flowcontrol_request_execution_seconds_count",
                priority_level="workload",
                flow_schema="workload",
                type="watch",
            )
            == 1
        )
    assert executing(d) == 0
    watch_done.set()
    await watcher
    assert executing(d) == 0 and executing(d, "seats") == 0
    assert (
        sample(
            d,
            "apiserver_flowcontrol_request_execution_seconds_count",
            priority_level="workload",
            flow_schema="workload",
            type="watch",
        )
        == 1
    )


async def test_leaving_the_context_gives_back_a_seat_not_yet_released() -> None:
    d = dispatcher()
    async with d.admit(watch("watcher")):
        assert executing(d) == 1
    assert executing(d) == 0
    async with d.admit(pods()) as admission:
        admission.release_seat()
        assert executing(d) == 0
    assert executing(d) == 0
    assert (
        sample(
            d,
            "apiserver_flowcontrol_request_execution_seconds_count",
            priority_level="workload",
            flow_schema="workload",
            type="regular",
        )
        == 1
    )


async def test_a_quiescing_level_is_dropped_once_its_last_watch_gives_its_seat_back() -> None:
    d = dispatcher()
    async with d.admit(watch("watcher")) as admission:
        d.configure([LEASES], [LEADER_LEVEL])
        assert sample(d, "apiserver_flowcontrol_nominal_limit_seats", priority_level="workload") > 0
        admission.release_seat()
        assert (
            d.metrics.registry.get_sample_value(
                "apiserver_flowcontrol_nominal_limit_seats", {"priority_level": "workload"}
            )
            is None
        )


async def test_a_waiter_times_out_after_the_queue_wait_limit() -> None:
    d = dispatcher(wait_limit=0.02)
    async with holders(d) as h:
        for i in range(10):
            h.start(pods(user=f"u{i}"))
        await eventually(lambda: len(h.admitted) == 10, interval=0)
        with pytest.raises(errors.TooManyRequests):
            async with d.admit(pods()):
                pass
    assert (
        sample(
            d,
            "apiserver_flowcontrol_rejected_requests_total",
            priority_level="workload",
            flow_schema="workload",
            reason="time-out",
        )
        == 1
    )
    assert (
        sample(
            d,
            "apiserver_flowcontrol_request_wait_duration_seconds_count",
            priority_level="workload",
            flow_schema="workload",
            execute="false",
        )
        == 1
    )


async def test_reconfiguration_keeps_waiters_and_applies_new_limits() -> None:
    d = dispatcher()
    async with holders(d) as h:
        for i in range(12):
            h.start(pods(user=f"u{i}"))
        await eventually(lambda: len(h.admitted) == 10, interval=0)
        assert (
            sample(
                d,
                "apiserver_flowcontrol_current_inqueue_requests",
                priority_level="workload",
                flow_schema="workload",
            )
            == 2
        )
        more_shares = PriorityLevel(
            "workload", nominal_concurrency_shares=30, queuing=Queuing(8, 2, 2), uid="pl-wl"
        )
        d.configure([LEASES, WORKLOAD], [LEADER_LEVEL, more_shares])
        await eventually(lambda: len(h.admitted) == 12, interval=0)
    assert all(r is None for r in await h.finish())


async def test_a_removed_level_serves_its_waiters_then_disappears() -> None:
    d = dispatcher()
    async with holders(d) as h:
        for i in range(12):
            h.start(pods(user=f"u{i}"))
        await eventually(lambda: len(h.admitted) == 10, interval=0)
        d.configure([LEASES], [LEADER_LEVEL])
        # New requests no longer reach the level; the queued two stay queued.
        assert d.classify(pods()).priority_level == "catch-all"
        assert (
            sample(
                d,
                "apiserver_flowcontrol_current_inqueue_requests",
                priority_level="workload",
                flow_schema="workload",
            )
            == 2
        )
        assert sample(d, "apiserver_flowcontrol_nominal_limit_seats", priority_level="workload") > 0
    assert all(r is None for r in await h.finish())
    assert len(h.admitted) == 12
    assert (
        d.metrics.registry.get_sample_value(
            "apiserver_flowcontrol_nominal_limit_seats", {"priority_level": "workload"}
        )
        is None
    )
    assert (
        sample(d, "apiserver_flowcontrol_nominal_limit_seats", priority_level="leader-election")
        == 10
    )  # 20 * 5 / (5 + 5): the workload level's shares no longer count


def test_dangling_schemas_and_broken_levels_are_ignored_and_mandatory_ones_supplied() -> None:
    d = Dispatcher(10, FlowControlMetrics(CollectorRegistry()))
    not_exempt = PriorityLevel("special", exempt=True)
    bad_hand = PriorityLevel("bad", queuing=Queuing(queues=2, hand_size=3))
    d.configure(
        [
            FlowSchema("to-special", "special", 1, rules=(rule(("*",)),)),
            FlowSchema("to-bad", "bad", 2, rules=(rule(("*",)),)),
            FlowSchema("dangling", "nowhere", 3, rules=(rule(("*",)),)),
        ],
        [not_exempt, bad_hand],
    )
    assert d.classify(pods()).flow_schema == "catch-all"
    root = RequestDigest(user="root", groups=("system:masters",))
    assert d.classify(root).priority_level == "exempt"


async def test_cancelling_a_waiting_request_frees_its_place() -> None:
    d = dispatcher()
    async with holders(d) as h:
        for i in range(10):
            h.start(pods(user=f"u{i}"))
        await eventually(lambda: len(h.admitted) == 10, interval=0)
        gone = h.start(pods(user="gone"))
        await eventually(
            lambda: (
                sample(
                    d,
                    "apiserver_flowcontrol_current_inqueue_requests",
                    priority_level="workload",
                    flow_schema="workload",
                )
                == 1
            ),
            interval=0,
        )
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        assert (
            sample(
                d,
                "apiserver_flowcontrol_current_inqueue_requests",
                priority_level="workload",
                flow_schema="workload",
            )
            == 0
        )
    assert len(h.admitted) == 10


async def test_an_idle_level_lends_its_seats_to_a_busy_one() -> None:
    now = [0.0]
    d = Dispatcher(20, FlowControlMetrics(CollectorRegistry()), clock=lambda: now[0])
    lender = PriorityLevel(
        "lender", nominal_concurrency_shares=10, lendable_percent=50, queuing=Queuing(8, 2, 50)
    )
    borrower = PriorityLevel(
        "borrower", nominal_concurrency_shares=10, lendable_percent=50, queuing=Queuing(8, 2, 50)
    )
    d.configure(
        [FlowSchema("all", "borrower", 100, rules=(rule(("*",)),))],
        [lender, borrower, PriorityLevel("catch-all", nominal_concurrency_shares=0)],
    )
    assert d.limits("borrower")[0].nominal == 10
    async with holders(d) as h:
        for i in range(30):
            h.start(pods(user=f"u{i}"))
        await eventually(lambda: len(h.admitted) >= 5, interval=0)
        now[0] += 10
        d.adjust_limits()
        await eventually(lambda: len(h.admitted) == 15, interval=0)
        assert d.limits("borrower")[1] == 15
        assert d.limits("lender")[1] == 5

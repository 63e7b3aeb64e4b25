"""Work estimates: how wide a list, a watch and a write are, as kube-apiserver 1.32
sizes them (a watch from "" or "0" as 1.35 sizes it), and how the dispatcher charges a
level for them."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from master.apiserver.flowcontrol.dispatcher import Dispatcher
from master.apiserver.flowcontrol.estimate import (
    UNKNOWN_COUNTS,
    ListOptions,
    StoreCounts,
    WorkEstimate,
    estimate,
    level_max_seats,
    selected_name,
)
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


def request(verb: str, name: str = "") -> RequestDigest:
    return RequestDigest(user="u", verb=verb, resource="pods", name=name)


def stored(objects: int | None, *, consistent: bool = False) -> StoreCounts:
    return StoreCounts(objects=objects, consistent_lists_cached=consistent)


@pytest.mark.parametrize(
    ("nominal", "hand_size", "expected"),
    [
        pytest.param(49, 6, 8, id="global-default-at-600"),
        pytest.param(98, 6, 15, id="fifteen-percent-below-a-hands-share"),
        pytest.param(245, 8, 30, id="a-hands-share-below-fifteen-percent"),
        pytest.param(5, 8, 1, id="at-least-one"),
        pytest.param(0, 8, 1, id="borrowing-only"),
        pytest.param(13, None, 0, id="reject-or-exempt-sets-none"),
    ],
)
def test_a_levels_max_seats_are_kube_apiservers(
    nominal: int, hand_size: int | None, expected: int
) -> None:
    assert level_max_seats(nominal, hand_size) == expected


@pytest.mark.parametrize(
    ("digest", "options", "counts", "seats"),
    [
        pytest.param(request("get", "x"), ListOptions(), stored(5000), 1, id="get"),
        pytest.param(request("list"), ListOptions(), UNKNOWN_COUNTS, 1, id="count-unknown"),
        pytest.param(request("list"), ListOptions(), stored(0), 1, id="never-below-one"),
        pytest.param(
            request("list"), ListOptions(resource_version="0"), stored(250), 3, id="from-cache"
        ),
        pytest.param(
            request("list"),
            ListOptions(resource_version="7", resource_version_match="NotOlderThan", limit=50),
            stored(250),
            3,
            id="not-older-than-from-cache",
        ),
        pytest.param(
            request("list"), ListOptions(), stored(250), 5, id="consistent-from-etcd-twice"
        ),
        pytest.param(
            request("list"),
            ListOptions(),
            stored(250, consistent=True),
            3,
            id="consistent-from-cache",
        ),
        pytest.param(
            request("list"),
            ListOptions(limit=50, label_selector="app=web"),
            stored(250, consistent=True),
            3,
            id="selector-from-etcd-every-object-plus-the-page",
        ),
        pytest.param(request("list"), ListOptions(limit=50), stored(250), 1, id="a-small-page"),
        pytest.param(
            request("list"),
            ListOptions(limit=100, continue_token="abc", resource_version="0"),
            stored(5000),
            2,
            id="continued-from-etcd",
        ),
        pytest.param(
            request("list"),
            ListOptions(resource_version="7", resource_version_match="Exact"),
            stored(250),
            5,
            id="exact-from-etcd",
        ),
        pytest.param(
            request("list"), ListOptions(resource_version="0"), stored(5000), 10, id="capped-at-10"
        ),
        pytest.param(
            request("list"),
            ListOptions(field_selector="metadata.name=web-1", resource_version="0"),
            stored(5000),
            1,
            id="one-name-by-field-selector",
        ),
        pytest.param(request("watch"), ListOptions(), stored(250), 3, id="watch-from-nothing"),
        pytest.param(
            request("watch"), ListOptions(resource_version="0"), stored(250), 3, id="watch-from-0"
        ),
        pytest.param(
            request("watch"),
            ListOptions(resource_version="12"),
            stored(5000),
            1,
            id="watch-without-initial-events",
        ),
        pytest.param(
            request("watch"),
            ListOptions(resource_version="12", send_initial_events=True),
            stored(250),
            3,
            id="watch-asking-for-initial-events",
        ),
        pytest.param(
            request("watch"),
            ListOptions(field_selector="metadata.name=web-1"),
            stored(5000),
            1,
            id="watch-of-one-name",
        ),
    ],
)
def test_a_list_or_watch_costs_a_seat_per_100_objects_it_touches(
    digest: RequestDigest, options: ListOptions, counts: StoreCounts, seats: int
) -> None:
    assert estimate(digest, options, counts, 0) == WorkEstimate(seats)


def test_a_list_is_capped_by_its_levels_max_seats() -> None:
    big = stored(5000)
    assert estimate(request("list"), ListOptions(resource_version="0"), big, 3).initial_seats == 3
    # A level's max above the list cap does not lift it.
    assert estimate(request("list"), ListOptions(resource_version="0"), big, 30).initial_seats == 10


@pytest.mark.parametrize(
    ("verb", "watchers", "max_seats", "expected"),
    [
        pytest.param("create", 9, 0, WorkEstimate(1), id="few-watchers-nothing-after"),
        pytest.param("update", 10, 0, WorkEstimate(1, 1, 0.005), id="ten-watchers-one-seat"),
        pytest.param("patch", 95, 0, WorkEstimate(1, 10, 0.005), id="ninety-five"),
        pytest.param("delete", 150, 0, WorkEstimate(1, 10, 0.0075), id="reshaped-to-ten"),
        pytest.param("create", 125, 3, WorkEstimate(1, 3, 0.021666666), id="reshaped-to-level"),
        pytest.param("deletecollection", 1000, 0, WorkEstimate(1), id="not-a-mutating-verb"),
    ],
)
def test_a_write_holds_a_seat_per_10_watchers_for_5_ms_after_it(
    verb: str, watchers: int, max_seats: int, expected: WorkEstimate
) -> None:
    work = estimate(request(verb), ListOptions(), StoreCounts(watchers=watchers), max_seats)
    assert work == expected
    if work.final_seats:
        # Reshaping keeps the final work (a seat per 10 watchers for 5 ms), but for Go's
        # truncation to whole nanoseconds.
        events_ns = -(-watchers // 10) * 5_000_000
        assert 0 <= events_ns - work.final_seats * work.latency_ns < work.final_seats


def test_a_service_account_token_makes_no_event_to_watch() -> None:
    token = RequestDigest(user="u", verb="create", resource="serviceaccounts", subresource="token")
    assert estimate(token, ListOptions(), StoreCounts(watchers=1000), 0) == WorkEstimate(1)


def test_the_width_is_the_larger_of_the_two_phases() -> None:
    assert WorkEstimate(3, 1, 0.005).max_seats == 3
    assert WorkEstimate(1, 7, 0.005).max_seats == 7


def test_list_options_are_read_from_a_rest_query() -> None:
    options = ListOptions.from_query(
        {
            "limit": "500",
            "labelSelector": "app=web",
            "fieldSelector": "spec.nodeName=n1",
            "resourceVersion": "42",
            "resourceVersionMatch": "NotOlderThan",
            "continue": "token",
            "sendInitialEvents": "true",
        }
    )
    assert options == ListOptions(
        500, "app=web", "spec.nodeName=n1", "42", "NotOlderThan", "token", True
    )
    assert ListOptions.from_query({"limit": "many"}).limit == 0


@pytest.mark.parametrize(
    ("selector", "name"),
    [
        ("metadata.name=web", "web"),
        ("metadata.name==web", "web"),
        ("metadata.name!=web", ""),
        ("spec.nodeName=n1,metadata.name=web", "web"),
        (r"spec.nodeName=a\,metadata.name=b", ""),
        ("spec.nodeName=n1", ""),
        ("", ""),
    ],
)
def test_a_field_selector_names_one_object_only_by_an_equality_on_metadata_name(
    selector: str, name: str
) -> None:
    assert selected_name(selector) == name


EVERYTHING = ResourceRule(("*",), ("*",), ("*",), cluster_scope=True, namespaces=("*",))


def dispatcher() -> Dispatcher:
    # 30 seats over 10 + 5 (catch-all) shares: "workload" has 20, so at most 3 a request.
    d = Dispatcher(30, FlowControlMetrics(CollectorRegistry()), 10.0)
    level = PriorityLevel("workload", nominal_concurrency_shares=10, queuing=Queuing(8, 2, 50))
    schema = FlowSchema(
        "workload",
        "workload",
        100,
        "ByUser",
        rules=(PolicyRule((GroupSubject("*"),), (EVERYTHING,)),),
    )
    d.configure([schema], [level])
    return d


def sample(d: Dispatcher, name: str, **labels: str) -> float:
    found = {"priority_level": "workload", "flow_schema": "workload", **labels}
    return d.metrics.registry.get_sample_value(f"apiserver_flowcontrol_{name}", found) or 0.0


async def test_the_dispatcher_holds_the_estimated_seats_and_records_the_estimate() -> None:
    d = dispatcher()
    assert d.max_seats("workload") == 3
    assert d.max_seats("exempt") == 0 and d.max_seats("catch-all") == 0
    async with d.admit(
        request("list"), options=ListOptions(resource_version="0"), counts=stored(250)
    ):
        assert sample(d, "current_executing_seats") == 3
        assert sample(d, "current_executing_requests") == 1
    async with d.admit(request("get", "x"), counts=stored(250)):
        assert sample(d, "current_executing_seats") == 1
    assert sample(d, "work_estimated_seats_count") == 2
    assert sample(d, "work_estimated_seats_sum") == 4
    assert sample(d, "work_estimated_seats_bucket", le="1.0") == 1
    assert sample(d, "work_estimated_seats_bucket", le="4.0") == 2


async def test_a_write_returns_at_once_and_its_final_seats_are_held_after_it() -> None:
    d = dispatcher()
    async with d.admit(request("update", "x"), counts=StoreCounts(watchers=300)):
        # 30 seats for 5 ms, reshaped to the level's 3 for 50 ms: 3 seats from the start.
        assert sample(d, "current_executing_seats") == 3
    assert sample(d, "current_executing_requests") == 0
    assert sample(d, "current_executing_seats") == 3  # its watchers' events go out
    await eventually(lambda: sample(d, "current_executing_seats") == 0, timeout=5.0)

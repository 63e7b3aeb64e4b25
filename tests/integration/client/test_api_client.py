"""The API client against a real API server on a real etcd: the verbs, errors, watch, fence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import structlog
import structlog.testing
from prometheus_client import REGISTRY

from client import errors
from client.api import ApiClient, ClientOptions, WatchEvent
from client.events import EventRecorder
from client.timeouts import within
from master.apiserver.server import ApiServer
from proto import api_pb2, core_pb2
from tests.conftest import ApiServerFactory
from tests.support.ports import free_port
from tests.support.waiting import eventually


def configmap(name: str, namespace: str = "default", **data: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.data.update(data)
    return cm


def pod(name: str) -> core_pb2.Pod:
    p = core_pb2.Pod(api_version="v1", kind="Pod")
    p.metadata.name = name
    p.metadata.namespace = "default"
    c = p.spec.containers.add()
    c.name = "main"
    c.image = "busybox:1.35"
    return p


@pytest.fixture
async def client(apiserver: ApiServer) -> AsyncIterator[ApiClient]:
    async with ApiClient([apiserver.endpoint]) as c:
        yield c


async def test_create_get_update_and_delete_round_trip(client: ApiClient) -> None:
    made = await client.create(configmap("a", x="1"))
    assert made.metadata.uid and made.metadata.resource_version
    got = await client.get("configmaps", "default", "a")
    assert isinstance(got, core_pb2.ConfigMap)
    assert got.data["x"] == "1"
    got.data["x"] = "2"
    updated = await client.update(got)
    assert updated.data["x"] == "2"
    assert int(updated.metadata.resource_version) > int(made.metadata.resource_version)
    await client.delete("configmaps", "default", "a")
    with pytest.raises(errors.NotFound):
        await client.get("configmaps", "default", "a")


async def test_a_stale_update_gets_conflict_and_changes_nothing(client: ApiClient) -> None:
    made = await client.create(configmap("a", x="1"))
    fresh = configmap("a", x="2")
    fresh.metadata.CopyFrom(made.metadata)
    await client.update(fresh)
    stale = configmap("a", x="3")
    stale.metadata.CopyFrom(made.metadata)
    with pytest.raises(errors.Conflict):
        await client.update(stale)
    got = await client.get("configmaps", "default", "a")
    assert isinstance(got, core_pb2.ConfigMap) and got.data["x"] == "2"


async def test_update_status_changes_only_the_status(client: ApiClient) -> None:
    made = await client.create(pod("p"))
    made.status.phase = "Running"
    made.spec.containers[0].image = "busybox:9.9"
    written = await client.update_status(made)
    assert written.status.phase == "Running"
    assert written.spec.containers[0].image == "busybox:1.35"


async def test_api_errors_arrive_as_their_classes(client: ApiClient) -> None:
    await client.create(configmap("a"))
    with pytest.raises(errors.AlreadyExists):
        await client.create(configmap("a"))
    with pytest.raises(errors.NotFound):
        await client.delete("configmaps", "default", "missing")
    with pytest.raises(errors.Invalid, match=r"metadata\.name"):
        await client.create(configmap("Not_A_Name"))


async def test_list_pages_through_everything_at_one_revision(client: ApiClient) -> None:
    for i in range(7):
        await client.create(configmap(f"cm{i}"))
    first = await client.list("configmaps", "default", limit=3)
    assert len(first.items) == 3 and first.continue_token
    everything = await client.list_all("configmaps", "default", page_size=3)
    assert sorted(o.metadata.name for o in everything.items) == [f"cm{i}" for i in range(7)]
    assert everything.resource_version == (await client.list("configmaps")).resource_version


async def test_a_watch_delivers_every_change_after_its_revision_in_order(
    client: ApiClient,
) -> None:
    start = await client.create(configmap("before"))
    events = client.watch("configmaps", "default", resource_version=start.metadata.resource_version)
    try:
        a = await client.create(configmap("a"))
        a.data["k"] = "v"
        await client.update(a)
        await client.delete("configmaps", "default", "a")
        seen = [await within(anext(events), 10) for _ in range(3)]
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    assert [(e.type, e.object.metadata.name if e.object else "") for e in seen] == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
    ]
    versions = [int(e.resource_version) for e in seen]
    assert versions == sorted(versions) and versions[0] > int(start.metadata.resource_version)


async def test_a_watch_from_a_compacted_revision_raises_gone(
    client: ApiClient, apiserver: ApiServer
) -> None:
    old = await client.create(configmap("a"))
    await client.create(configmap("b"))
    await client.create(configmap("c"))
    await apiserver.compactor.compact_now()  # b's revision is gone now
    events = client.watch("configmaps", resource_version=old.metadata.resource_version)
    with pytest.raises(errors.Gone):
        await within(anext(events), 10)


async def test_a_dead_endpoint_is_skipped(apiserver: ApiServer) -> None:
    dead = f"127.0.0.1:{free_port()}"
    options = ClientOptions(spread=False, backoff_base=0.01)
    failovers = REGISTRY.get_sample_value("tugboat_client_failovers_total") or 0.0
    async with ApiClient([dead, apiserver.endpoint], options) as c:
        assert c.endpoint == dead
        await c.create(configmap("a"))
        assert c.endpoint == apiserver.endpoint
        got = await c.get("configmaps", "default", "a")
        assert got.metadata.name == "a"
    assert REGISTRY.get_sample_value("tugboat_client_failovers_total") == failovers + 1
    ok = {"verb": "Get", "resource": "configmaps", "code": "OK"}
    assert (REGISTRY.get_sample_value("tugboat_client_requests_total", ok) or 0) >= 1


async def test_a_create_with_generate_name_fails_over_when_it_cannot_connect(
    apiserver: ApiServer,
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    async with ApiClient([dead, apiserver.endpoint], ClientOptions(spread=False)) as c:
        cm = configmap("")
        cm.metadata.generate_name = "gen-"
        made = await c.create(cm)
        assert made.metadata.name.startswith("gen-")


async def test_no_endpoint_answering_raises_unavailable_within_the_deadline() -> None:
    dead = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    options = ClientOptions(max_retries=4, retry_deadline=5, backoff_base=0.01)
    async with ApiClient(dead, options) as c:
        with pytest.raises(errors.Unavailable, match="no API server answered"):
            await c.get("configmaps", "default", "a")


async def test_the_fence_rides_on_every_write(client: ApiClient) -> None:
    client.options.fence = api_pb2.Fence(key="/tugboat/leader/nobody", revision=1)
    with pytest.raises(errors.FencedOut):
        await client.create(configmap("a"))
    client.options.fence = None
    await client.create(configmap("a"))


async def test_the_event_recorder_creates_then_aggregates_repeats(client: ApiClient) -> None:
    subject = await client.create(pod("web-1"))
    recorder = EventRecorder(client, "test-controller", host="node-1")
    await recorder.record(subject, "Warning", "BackOff", "restarting failed container")
    await recorder.record(subject, "Warning", "BackOff", "restarting failed container")
    await recorder.record(subject, "Normal", "Pulled", "image present")
    await recorder.close()
    listed = await client.list("events", "default")
    events = sorted(listed.items, key=lambda e: e.metadata.name)
    assert len(events) == 2
    by_reason = {e.reason: e for e in events if isinstance(e, core_pb2.Event)}
    backoff = by_reason["BackOff"]
    assert backoff.count == 2
    assert backoff.metadata.name.startswith("web-1.")
    assert backoff.involved_object.uid == subject.metadata.uid
    assert backoff.involved_object.kind == "Pod"
    assert backoff.source.component == "test-controller"
    assert backoff.type == "Warning" and backoff.first_timestamp and backoff.last_timestamp
    assert by_reason["Pulled"].count == 1


async def test_the_event_recorder_never_raises(apiserver: ApiServer) -> None:
    dead = f"127.0.0.1:{free_port()}"
    options = ClientOptions(max_retries=1, retry_deadline=2)
    async with ApiClient([dead], options) as c:
        recorder = EventRecorder(c, "test")
        await recorder.record(pod("p"), "Normal", "Nothing", "fails quietly")
        await recorder.close()


async def test_a_watch_with_bookmarks_yields_them(apiserver_factory: ApiServerFactory) -> None:
    server = await apiserver_factory.start(bookmark_interval=0.2)
    async with ApiClient([server.endpoint]) as c:
        made = await c.create(configmap("a"))
        events = c.watch("configmaps", allow_bookmarks=True)
        try:
            event = await within(anext(events), 10)
        finally:
            await events.aclose()  # type: ignore[attr-defined]
        assert event.type == "BOOKMARK" and event.object is None
        assert int(event.resource_version) >= int(made.metadata.resource_version)


async def test_a_silent_watch_is_resumed_without_losing_or_repeating_events(
    apiserver: ApiServer,
) -> None:
    # The server sends no bookmark within the idle timeout, so the client takes the
    # stream for cut off, again and again, and resumes it each time.
    options = ClientOptions(watch_idle_timeout=0.1)
    async with ApiClient([apiserver.endpoint], options) as c:
        start = await c.create(configmap("start"))
        events = c.watch(
            "configmaps", resource_version=start.metadata.resource_version, allow_bookmarks=True
        )
        seen: list[str] = []
        try:
            with structlog.testing.capture_logs() as logs:

                def resumes() -> int:
                    return sum(1 for line in logs if line["event"] == "watch resuming")

                async def next_event() -> WatchEvent:
                    return await anext(events)

                for i in range(3):
                    waiting = asyncio.create_task(next_event())
                    target = resumes() + 1
                    await eventually(
                        lambda: resumes() >= target,  # noqa: B023 (awaited in this turn)
                        what="the silent watch to be resumed",
                    )
                    await c.create(configmap(f"cm{i}"))
                    event = await within(waiting, 10)
                    assert event.object is not None
                    seen.append(event.object.metadata.name)
        finally:
            await events.aclose()  # type: ignore[attr-defined]
        assert seen == ["cm0", "cm1", "cm2"]

"""Watch: every change after a revision, in order, filtered; OUT_OF_RANGE once compacted."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from client.kinds import decode
from client.timeouts import within
from proto import api_pb2
from tests.integration.apiserver.helpers import (
    configmap,
    create,
    delete,
    get,
    pod,
    stub_for,
    update,
)
from tests.support.waiting import eventually


async def _collect(call: Any, count: int, timeout: float = 10.0) -> list[api_pb2.WatchEvent]:
    events: list[api_pb2.WatchEvent] = []

    async def read() -> None:
        async for event in call:
            events.append(event)
            if len(events) == count:
                return

    await within(read(), timeout)
    return events


def _watch(stub: Any, resource: str = "configmaps", **kw: Any) -> Any:
    return stub.Watch(api_pb2.WatchRequest(resource=resource, **kw))


def _summary(resource: str, events: list[Any]) -> list[tuple[str, str, str]]:
    return [(e.type, decode(resource, e.object).metadata.name, e.resource_version) for e in events]


async def test_a_watch_from_a_revision_gets_every_later_change_in_order(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        first = await create(stub, configmap("a", v="0"))
        start = first.metadata.resource_version
        b = await create(stub, configmap("b"))
        a1 = _set(first, v="1")
        a1 = await update(stub, a1)
        gone = await delete(stub, "configmaps", "default", "b")
        call = _watch(stub, namespace="default", resource_version=start)
        events = await _collect(call, 3)
        call.cancel()
    assert _summary("configmaps", events) == [
        ("ADDED", "b", b.metadata.resource_version),
        ("MODIFIED", "a", a1.metadata.resource_version),
        ("DELETED", "b", gone.metadata.resource_version),
    ]
    deleted = decode("configmaps", events[2].object)
    assert deleted.metadata.uid == b.metadata.uid
    assert deleted.metadata.resource_version == gone.metadata.resource_version


async def test_a_watch_without_a_revision_starts_with_what_exists_then_follows(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("before"))
        call = _watch(stub)
        await eventually(lambda: _watchers(apiserver) == 1, what="watch registered")
        await create(stub, configmap("after"))
        events = await _collect(call, 2)
        call.cancel()
    summary = [(t, n) for t, n, _ in _summary("configmaps", events)]
    assert summary == [("ADDED", "before"), ("ADDED", "after")]


async def test_a_watch_is_filtered_by_namespace(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        start = (await create(stub, configmap("x", namespace="kube-system"))).metadata
        await create(stub, configmap("in-system", namespace="kube-system"))
        await create(stub, configmap("in-default"))
        await create(stub, configmap("in-system-2", namespace="kube-system"))
        call = _watch(stub, namespace="kube-system", resource_version=start.resource_version)
        events = await _collect(call, 2)
        call.cancel()
    assert [n for _, n, _ in _summary("configmaps", events)] == ["in-system", "in-system-2"]


async def test_objects_entering_and_leaving_a_label_selector_are_added_and_deleted(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        p = await create(stub, pod("p", app="web"))
        start = p.metadata.resource_version
        p.metadata.labels["app"] = "db"
        p = await update(stub, p)
        p.metadata.labels["app"] = "web"
        p = await update(stub, p)
        p.metadata.labels["tier"] = "front"
        p = await update(stub, p)
        call = _watch(stub, "pods", label_selector="app=web", resource_version=start)
        events = await _collect(call, 3)
        call.cancel()
    assert [e.type for e in events] == ["DELETED", "ADDED", "MODIFIED"]
    assert decode("pods", events[0].object).metadata.labels["app"] == "web"


async def test_a_watch_is_filtered_by_field_selector(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        start = (await create(stub, pod("elsewhere", node="n2"))).metadata.resource_version
        await create(stub, pod("mine", node="n1"))
        await create(stub, pod("other", node="n2"))
        await create(stub, pod("mine-too", node="n1"))
        call = _watch(stub, "pods", field_selector="spec.nodeName=n1", resource_version=start)
        events = await _collect(call, 2)
        call.cancel()
    assert [n for _, n, _ in _summary("pods", events)] == ["mine", "mine-too"]


async def test_after_compaction_a_watch_from_an_old_revision_is_out_of_range(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        old = (await create(stub, configmap("a"))).metadata.resource_version
        await create(stub, configmap("b"))
        await create(stub, configmap("c"))
        await apiserver.compactor.compact_now()
        call = _watch(stub, resource_version=old)
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _collect(call, 1)
    assert e.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert "too old resource version" in str(e.value.details())


async def test_the_server_drops_the_watch_of_a_client_that_went_away(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        call = _watch(stub)
        await eventually(lambda: _watchers(apiserver) == 1, what="watch registered")
        call.cancel()
        await eventually(lambda: _watchers(apiserver) == 0, what="watch released")


async def test_bookmarks_report_progress_when_allowed(apiserver_factory):
    server = await apiserver_factory.start(bookmark_interval=0.2)
    async with stub_for(server.endpoint) as stub:
        made = await create(stub, configmap("a"))
        call = _watch(stub, allow_bookmarks=True, resource_version=made.metadata.resource_version)
        events = await _collect(call, 1)
        call.cancel()
    assert events[0].type == "BOOKMARK"
    assert int(events[0].resource_version) >= int(made.metadata.resource_version)


async def test_a_watch_with_a_malformed_resource_version_is_invalid(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _collect(_watch(stub, resource_version="abc"), 1)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_pod_gracefully_deleted_is_modified_then_deleted_for_watchers(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        start = (await create(stub, pod("p", node="n1"))).metadata.resource_version
        await delete(stub, "pods", "default", "p")
        marked = await get(stub, "pods", "default", "p")
        await delete(stub, "pods", "default", "p", grace_period_seconds=0)
        events = await _collect(_watch(stub, "pods", resource_version=start), 2)
    assert [e.type for e in events] == ["MODIFIED", "DELETED"]
    assert decode("pods", events[1].object).metadata.deletion_timestamp
    assert events[0].resource_version == marked.metadata.resource_version


def _set(cm: Any, **data: str) -> Any:
    new = type(cm)()
    new.CopyFrom(cm)
    new.data.clear()
    new.data.update(data)
    return new


def _watchers(server: Any) -> float:
    value = server.metrics.registry.get_sample_value(
        "tugboat_apiserver_watchers", {"resource": "configmaps"}
    )
    return value or 0.0


async def test_stopping_the_server_ends_open_watches_as_unavailable(apiserver_factory):
    server = await apiserver_factory.start()
    async with stub_for(server.endpoint) as stub:
        call = _watch(stub)
        await eventually(lambda: _watchers(server) == 1, what="watch registered")
        stopping = asyncio.create_task(server.stop(grace=30))
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _collect(call, 1)
        await stopping
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "shutting down" in str(e.value.details())

"""A watch that asks for batches gets what is queued for it in few messages, in order."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.kinds import by_resource, decode
from client.timeouts import within
from proto import api_pb2
from tests.integration.apiserver.helpers import configmap, create, stub_for

COUNT = 30


async def _messages(call: Any, events: int) -> list[api_pb2.WatchEvent]:
    """Messages off the stream until they hold `events` events."""
    messages: list[api_pb2.WatchEvent] = []

    async def read() -> None:
        held = 0
        async for message in call:
            messages.append(message)
            held += len(message.events) or 1
            if held >= events:
                return

    await within(read(), 10.0)
    return messages


def _names(messages: list[api_pb2.WatchEvent]) -> list[tuple[str, str]]:
    return [
        (e.type, decode("configmaps", e.object).metadata.name)
        for m in messages
        for e in (m.events or (m,))
    ]


async def _cached_history(server: Any, stub: Any) -> str:
    """Start the configmaps cache, then create COUNT ConfigMaps it holds in its window;
    the revision before them."""
    assert await server.service.watch_cache.cacher(by_resource("configmaps")) is not None
    first = await create(stub, configmap("first"))
    start = str(first.metadata.resource_version)
    follower = stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
    for i in range(COUNT):
        await create(stub, configmap(f"cm-{i:02d}"))
    # The cache has all of them once a watcher it serves has heard the last.
    await _messages(follower, COUNT)
    follower.cancel()
    return start


async def test_a_watch_asking_for_batches_gets_the_queued_changes_in_one_message(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        start = await _cached_history(apiserver, stub)
        call = stub.Watch(
            api_pb2.WatchRequest(resource="configmaps", resource_version=start, batch_events=True)
        )
        messages = await _messages(call, COUNT)
        call.cancel()
    assert _names(messages) == [("ADDED", f"cm-{i:02d}") for i in range(COUNT)]
    assert len(messages) == 1
    assert not messages[0].type and not messages[0].object


async def test_a_watch_not_asking_for_batches_gets_one_event_to_a_message(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        start = await _cached_history(apiserver, stub)
        call = stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
        messages = await _messages(call, COUNT)
        call.cancel()
    assert _names(messages) == [("ADDED", f"cm-{i:02d}") for i in range(COUNT)]
    assert len(messages) == COUNT and not any(m.events for m in messages)


async def test_the_initial_state_of_a_batched_watch_comes_batched(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        for i in range(COUNT):
            await create(stub, configmap(f"cm-{i:02d}", namespace="kube-system"))
        call = stub.Watch(
            api_pb2.WatchRequest(resource="configmaps", namespace="kube-system", batch_events=True)
        )
        messages = await _messages(call, COUNT)
        call.cancel()
    assert sorted(_names(messages)) == [("ADDED", f"cm-{i:02d}") for i in range(COUNT)]
    assert len(messages) == 1


async def test_the_client_hands_on_batched_events_one_by_one_with_their_versions(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        start = await _cached_history(apiserver, stub)
    client = ApiClient([apiserver.endpoint])
    try:
        seen: list[tuple[str, str]] = []

        async def read() -> None:
            async for event in client.watch("configmaps", resource_version=start):
                assert event.object is not None
                seen.append((event.object.metadata.name, event.resource_version))
                if len(seen) == COUNT:
                    return

        await within(read(), 10.0)
    finally:
        await client.close()
    assert [name for name, _ in seen] == [f"cm-{i:02d}" for i in range(COUNT)]
    versions = [int(v) for _, v in seen]
    assert versions == sorted(versions) and len(set(versions)) == COUNT

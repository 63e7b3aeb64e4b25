"""The event recorder writes at most what client-go's EventCorrelator lets through, and
writes it behind the caller's back, as client-go's broadcaster does."""

from __future__ import annotations

import asyncio
from typing import cast

from prometheus_client import REGISTRY

from client.api import ApiClient
from client.errors import NotFound
from client.events import COMBINED, SPAM_BURST, SPAM_REFILL_SECONDS, EventRecorder
from client.timeouts import within
from proto import core_pb2, workloads_pb2
from tests.support.waiting import eventually


class FakeApi:
    """Stores Events in memory and counts the writes."""

    def __init__(self) -> None:
        self.events: dict[str, core_pb2.Event] = {}
        self.writes = 0

    async def create(self, event: core_pb2.Event) -> core_pb2.Event:
        self.writes += 1
        self.events[event.metadata.name] = event
        return event

    async def update(self, event: core_pb2.Event) -> core_pb2.Event:
        self.writes += 1
        if event.metadata.name not in self.events:
            raise NotFound("gone")
        self.events[event.metadata.name] = event
        return event


class GatedApi(FakeApi):
    """A FakeApi whose writes wait until the gate opens: an API server that is slow."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.started = 0

    async def create(self, event: core_pb2.Event) -> core_pb2.Event:
        self.started += 1
        await self.gate.wait()
        return await super().create(event)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def owner(name: str = "web") -> workloads_pb2.ReplicaSet:
    rs = workloads_pb2.ReplicaSet(api_version="apps/v1", kind="ReplicaSet")
    rs.metadata.name, rs.metadata.namespace, rs.metadata.uid = name, "default", f"uid-{name}"
    return rs


def recorder(api: FakeApi, clock: Clock) -> EventRecorder:
    return EventRecorder(cast(ApiClient, api), "replicaset-controller", clock=clock)


async def test_a_thousand_pod_creates_cost_at_most_the_spam_burst_in_event_writes() -> None:
    api, clock = FakeApi(), Clock()
    events = recorder(api, clock)
    rs = owner()
    for i in range(1000):
        await events.record(rs, "Normal", "SuccessfulCreate", f"Created pod: web-{i}")
    assert await events.flush()
    assert api.writes == SPAM_BURST
    messages = sorted(e.message for e in api.events.values())
    # Ten distinct messages, then one combined Event counting the rest that got through.
    assert len(messages) == 11
    combined = [e for e in api.events.values() if e.message.startswith(COMBINED)]
    assert len(combined) == 1 and combined[0].count == SPAM_BURST - 10


async def test_another_objects_events_have_their_own_burst() -> None:
    api, clock = FakeApi(), Clock()
    events = recorder(api, clock)
    for i in range(SPAM_BURST + 5):
        await events.record(owner("a"), "Normal", "SuccessfulCreate", f"Created pod: a-{i}")
    assert await events.flush()
    before = api.writes
    await events.record(owner("b"), "Normal", "SuccessfulCreate", "Created pod: b-0")
    assert await events.flush()
    assert api.writes == before + 1


async def test_the_filter_lets_one_more_through_per_refill_period() -> None:
    api, clock = FakeApi(), Clock()
    events = recorder(api, clock)
    rs = owner()
    for _ in range(SPAM_BURST + 3):
        await events.record(rs, "Warning", "BackOff", "restarting failed container")
    assert await events.flush()
    assert api.writes == SPAM_BURST
    clock.now += SPAM_REFILL_SECONDS
    await events.record(rs, "Warning", "BackOff", "restarting failed container")
    await events.record(rs, "Warning", "BackOff", "restarting failed container")
    assert await events.flush()
    assert api.writes == SPAM_BURST + 1
    (only,) = api.events.values()
    assert only.count == SPAM_BURST + 1


async def test_similar_messages_are_counted_afresh_after_the_window() -> None:
    api, clock = FakeApi(), Clock()
    events = recorder(api, clock)
    rs = owner()
    for i in range(11):
        await events.record(rs, "Normal", "SuccessfulDelete", f"Deleted pod: web-{i}")
    assert await events.flush()
    assert any(e.message.startswith(COMBINED) for e in api.events.values())
    clock.now += 601
    await events.record(rs, "Normal", "SuccessfulDelete", "Deleted pod: web-99")
    assert await events.flush()
    assert any(e.message == "Deleted pod: web-99" for e in api.events.values())


def dropped(component: str, cause: str) -> float:
    value = REGISTRY.get_sample_value(
        "tugboat_events_dropped_total", {"component": component, "cause": cause}
    )
    return value or 0.0


async def test_record_returns_before_the_event_is_written() -> None:
    api = GatedApi()
    events = EventRecorder(cast(ApiClient, api), "record-returns", clock=Clock())
    # The write is stuck behind the gate; the caller is not.
    await within(events.record(owner(), "Normal", "Scheduled", "assigned"), 5)
    await eventually(lambda: api.started == 1, timeout=5, what="the write started")
    assert api.writes == 0
    api.gate.set()
    assert await events.flush()
    (only,) = api.events.values()
    assert only.reason == "Scheduled" and only.count == 1


async def test_a_full_queue_drops_the_event_and_counts_it() -> None:
    api = GatedApi()
    events = EventRecorder(cast(ApiClient, api), "queue-full", max_queued=2, clock=Clock())
    before = dropped("queue-full", "queue_full")
    for i in range(5):
        await events.record(owner(f"rs-{i}"), "Normal", "SuccessfulCreate", "Created pod")
    assert dropped("queue-full", "queue_full") == before + 3
    api.gate.set()
    assert await events.flush()
    assert sorted(e.involved_object.name for e in api.events.values()) == ["rs-0", "rs-1"]


async def test_repeats_queued_together_still_aggregate_into_one_event() -> None:
    api, clock = FakeApi(), Clock()
    events = recorder(api, clock)
    for _ in range(3):
        await events.record(owner(), "Warning", "BackOff", "restarting failed container")
    assert await events.flush()
    (only,) = api.events.values()
    assert only.count == 3 and api.writes == 3


async def test_the_event_names_the_object_as_it_was_when_recorded() -> None:
    api = FakeApi()
    events = recorder(api, Clock())
    rs = owner()
    rs.metadata.resource_version = "7"
    await events.record(rs, "Normal", "ScalingReplicaSet", "Scaled up")
    rs.metadata.resource_version = "8"
    assert await events.flush()
    (only,) = api.events.values()
    assert only.involved_object.resource_version == "7"


async def test_close_writes_what_is_queued_and_leaves_no_writer() -> None:
    api = FakeApi()
    events = recorder(api, Clock())
    for i in range(3):
        await events.record(owner(f"rs-{i}"), "Normal", "SuccessfulCreate", "Created pod")
    await events.close()
    assert api.writes == 3
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("event-recorder")]


async def test_close_gives_up_on_a_stuck_api_within_its_timeout() -> None:
    api = GatedApi()
    events = EventRecorder(cast(ApiClient, api), "close-stuck", clock=Clock())
    before = dropped("close-stuck", "queue_full")
    for i in range(3):
        await events.record(owner(f"rs-{i}"), "Normal", "SuccessfulCreate", "Created pod")
    await within(events.close(timeout=0.05), 5)
    assert api.writes == 0
    # The one being written is abandoned; the two behind it are counted as dropped.
    assert dropped("close-stuck", "queue_full") == before + 2
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("event-recorder")]

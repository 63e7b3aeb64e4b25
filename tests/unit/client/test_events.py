"""The event recorder writes at most what client-go's EventCorrelator lets through."""

from __future__ import annotations

from typing import cast

from client.api import ApiClient
from client.errors import NotFound
from client.events import COMBINED, SPAM_BURST, SPAM_REFILL_SECONDS, EventRecorder
from proto import core_pb2, workloads_pb2


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
    before = api.writes
    await events.record(owner("b"), "Normal", "SuccessfulCreate", "Created pod: b-0")
    assert api.writes == before + 1


async def test_the_filter_lets_one_more_through_per_refill_period() -> None:
    api, clock = FakeApi(), Clock()
    events = recorder(api, clock)
    rs = owner()
    for _ in range(SPAM_BURST + 3):
        await events.record(rs, "Warning", "BackOff", "restarting failed container")
    assert api.writes == SPAM_BURST
    clock.now += SPAM_REFILL_SECONDS
    await events.record(rs, "Warning", "BackOff", "restarting failed container")
    await events.record(rs, "Warning", "BackOff", "restarting failed container")
    assert api.writes == SPAM_BURST + 1
    (only,) = api.events.values()
    assert only.count == SPAM_BURST + 1


async def test_similar_messages_are_counted_afresh_after_the_window() -> None:
    api, clock = FakeApi(), Clock()
    events = recorder(api, clock)
    rs = owner()
    for i in range(11):
        await events.record(rs, "Normal", "SuccessfulDelete", f"Deleted pod: web-{i}")
    assert any(e.message.startswith(COMBINED) for e in api.events.values())
    clock.now += 601
    await events.record(rs, "Normal", "SuccessfulDelete", "Deleted pod: web-99")
    assert any(e.message == "Deleted pod: web-99" for e in api.events.values())

"""A batch takes queued events in order, bounded by their objects' bytes."""

from __future__ import annotations

import collections

from master.apiserver.watchbatch import BATCH_BYTES, packed, take
from proto import api_pb2


def _event(size: int, version: int) -> api_pb2.WatchEvent:
    return api_pb2.WatchEvent(type="MODIFIED", object=b"x" * size, resource_version=str(version))


def _versions(events: list[api_pb2.WatchEvent]) -> list[str]:
    return [e.resource_version for e in events]


def test_a_batch_takes_every_queued_event_while_they_fit_in_order():
    pending = collections.deque(_event(100, v) for v in range(1, 51))
    assert _versions(take(pending)) == [str(v) for v in range(1, 51)]
    assert not pending


def test_a_batch_stops_before_the_event_that_would_pass_the_bound():
    third = BATCH_BYTES // 3
    pending = collections.deque(_event(third, v) for v in range(1, 6))
    assert _versions(take(pending)) == ["1", "2", "3"]
    assert _versions(take(pending)) == ["4", "5"]


def test_an_event_larger_than_the_bound_travels_alone():
    pending = collections.deque([_event(BATCH_BYTES + 1, 1), _event(10, 2)])
    assert _versions(take(pending)) == ["1"]
    assert _versions(take(pending)) == ["2"]


def test_one_event_is_sent_as_itself_and_several_wrapped():
    one = _event(10, 1)
    assert packed([one]) is one
    wrapped = packed([one, _event(10, 2)])
    assert not wrapped.type and not wrapped.object
    assert _versions(list(wrapped.events)) == ["1", "2"]

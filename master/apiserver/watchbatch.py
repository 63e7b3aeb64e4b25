"""Several watch events to one gRPC message, for a watch that asks (`batch_events`).

gRPC's asyncio server sends a stream's messages one at a time: each takes a few turns of
the event loop before the handler may send the next. A watcher with hundreds of events a
second (the controller manager's Lease informer at 5,000 nodes takes 500) then falls
behind whenever the loop is busy, though its events are already decoded and waiting.
Sending everything queued for it in one message costs one trip however many there are,
so the busier the server, the fuller the message and the cheaper each event.

A batch is bounded by the bytes of the objects it carries, not by a count, so a message
stays far below the client's receive limit whatever the kind; one event larger than the
bound travels alone, as it would without batches.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncGenerator
from contextlib import aclosing

from proto import api_pb2

__all__ = ["BATCH_BYTES", "one_by_one", "packed", "take"]

BATCH_BYTES = 1024 * 1024
"""Object bytes one message carries at most (unless its one event is larger)."""


def take(pending: collections.deque[api_pb2.WatchEvent]) -> list[api_pb2.WatchEvent]:
    """Events from the front of a non-empty `pending`, in order: at least one, and more
    while their objects stay within BATCH_BYTES."""
    first = pending.popleft()
    batch = [first]
    size = len(first.object)
    while pending:
        size += len(pending[0].object)
        if size > BATCH_BYTES:
            break
        batch.append(pending.popleft())
    return batch


def packed(batch: list[api_pb2.WatchEvent]) -> api_pb2.WatchEvent:
    """The message for a batch: its one event as it is, or the events wrapped."""
    if len(batch) == 1:
        return batch[0]
    return api_pb2.WatchEvent(events=batch)


async def one_by_one(
    batches: AsyncGenerator[list[api_pb2.WatchEvent], None],
) -> AsyncGenerator[api_pb2.WatchEvent, None]:
    """The events of `batches` one at a time, for a reader that takes them so (the REST
    watch, the API server's own followers)."""
    async with aclosing(batches):
        async for batch in batches:
            for event in batch:
                yield event

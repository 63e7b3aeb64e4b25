"""Recording Events about objects, the way `kubectl describe` shows them.

As in Kubernetes, an Event is named `<object name>.<hex timestamp>` and lives in the
object's namespace ("default" for cluster-scoped objects such as Nodes). A repeat of
the same event (same object, type, reason and message, from the same component) is
aggregated into the existing Event: count + 1 and a new lastTimestamp, instead of a new
object each time. The recorder keeps a small local cache of what it recorded to find
the Event to update; a miss only costs a new Event.

Recording is best effort: it must never fail the caller's work, so errors are logged.

Why the caller never waits for the write: an Event describes work, it is not part of it.
The scheduler's bind was two API round trips, the binding and its `Scheduled` Event,
and the second held a bind slot for nothing. As client-go's broadcaster does, `record`
only decides what to write and puts it on a bounded queue (1,000, client-go's
maxQueuedEvents); one writer task per recorder writes the queue in order, so a repeat
still finds the Event its predecessor wrote. When the queue is full the Event is dropped,
logged at debug and counted, as client-go drops it: a slow API server is then spared the
Events rather than the work. The writer starts on the first `record` and ends whenever
the queue is empty, so a recorder nobody closes leaves no task behind; an owner that
stops calls `close()` to write what is queued (within a deadline) before it closes its
client.

Events must also never cost the cluster more than the work they describe. A ReplicaSet
of 3,000 pods made 3,000 SuccessfulCreate Events, one API write per pod. As client-go's
EventCorrelator does, the recorder therefore

- aggregates similar Events: once more than 10 Events of one object share a type and
  reason but differ in message within 10 minutes, the rest go into one Event whose
  message starts "(combined from similar events): ", counted;
- filters spam: each object may have 25 Events written in a burst, then one per 5
  minutes (a token bucket per object); what is over is dropped and logged at debug.

Both run in `record`, on the caller's clock, so the decision is made when the event
happens, not when the writer gets to it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from prometheus_client import Counter

from client import kinds, timestamps
from client.api import ApiClient
from client.errors import AlreadyExists, ApiError, Conflict, NotFound
from client.kinds import Object
from proto import core_pb2

__all__ = ["NORMAL", "WARNING", "EventRecorder", "now_rfc3339"]

log = structlog.get_logger("client.events")

NORMAL = "Normal"
WARNING = "Warning"


SPAM_BURST = 25
"""Events one object may have written at once (client-go: defaultSpamBurst)."""
SPAM_REFILL_SECONDS = 300.0
"""Seconds to earn one more (client-go: defaultSpamQPS = 1/300)."""
SIMILAR_LIMIT = 10
"""Distinct messages of one object, type and reason before they are combined
(client-go: defaultAggregateMaxEvents)."""
SIMILAR_WINDOW = 600.0
"""Seconds over which similar messages are counted (client-go:
defaultAggregateIntervalInSeconds)."""
COMBINED = "(combined from similar events): "
MAX_QUEUED = 1000
"""Events waiting for the writer before new ones are dropped (client-go: maxQueuedEvents)."""
CLOSE_TIMEOUT = 5.0
"""Seconds `close` gives the writer to write what is queued."""

EVENTS_DROPPED = Counter(
    "tugboat_events_dropped_total",
    "Events not written, by component and cause: queue_full (the writer fell behind), "
    "spam_filter (the object's burst is spent).",
    ["component", "cause"],
)


@dataclass
class _Bucket:
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(SPAM_BURST, self.tokens + (now - self.at) / SPAM_REFILL_SECONDS)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class _Similar:
    messages: set[str]
    since: float


@dataclass(frozen=True)
class _Key:
    uid: str
    kind: str
    namespace: str
    name: str
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class _Pending:
    """One Event to write, with what it names copied at `record` time: the caller may
    change its object before the writer gets to it."""

    key: _Key
    api_version: str
    resource_version: str
    message: str
    stamp: str


def now_rfc3339() -> str:
    """The current time as Kubernetes writes timestamps: `2024-05-01T12:00:00Z`."""
    return timestamps.now()


class EventRecorder:
    """Creates or aggregates core/v1 Events on behalf of `component` (on `host`)."""

    def __init__(
        self,
        client: ApiClient,
        component: str,
        host: str = "",
        *,
        cache_size: int = 4096,
        max_queued: int = MAX_QUEUED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.component = component
        self.host = host
        self._cache_size = cache_size
        self._max_queued = max_queued
        self._clock = clock
        self._recorded: OrderedDict[_Key, core_pb2.Event] = OrderedDict()
        self._buckets: OrderedDict[tuple[str, str, str, str], _Bucket] = OrderedDict()
        self._similar: OrderedDict[tuple[str, str, str, str, str, str], _Similar] = OrderedDict()
        self._queue: deque[_Pending] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._queue_full = EVENTS_DROPPED.labels(component=component, cause="queue_full")
        self._spam = EVENTS_DROPPED.labels(component=component, cause="spam_filter")

    def _allowed(self, obj: Object) -> bool:
        """The spam filter: whether the object's bucket has a token for one more Event."""
        key = (obj.metadata.uid, obj.kind, obj.metadata.namespace, obj.metadata.name)
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(SPAM_BURST, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._cache_size:
            self._buckets.popitem(last=False)
        return bucket.take(now)

    def _combined(self, obj: Object, type: str, reason: str, message: str) -> str:
        """`message`, or the combined message once similar ones are too many."""
        key = (obj.metadata.uid, obj.kind, obj.metadata.namespace, obj.metadata.name, type, reason)
        now = self._clock()
        similar = self._similar.get(key)
        if similar is None or now - similar.since > SIMILAR_WINDOW:
            similar = self._similar[key] = _Similar(set(), now)
        self._similar.move_to_end(key)
        while len(self._similar) > self._cache_size:
            self._similar.popitem(last=False)
        similar.messages.add(message)
        if len(similar.messages) > SIMILAR_LIMIT:
            return COMBINED + message
        return message

    async def record(self, obj: Object, type: str, reason: str, message: str) -> None:
        """Record that `reason` happened to `obj` (type Normal or Warning); never raises
        and never waits for the API: the Event is queued for the writer task."""
        if len(self._queue) >= self._max_queued:
            # Before the correlator, as in client-go: a dropped Event spends no token.
            self._queue_full.inc()
            log.debug("event dropped: the queue is full", object=kinds.key(obj), reason=reason)
            return
        message = self._combined(obj, type, reason, message)
        if not self._allowed(obj):
            self._spam.inc()
            log.debug("event dropped by the spam filter", object=kinds.key(obj), reason=reason)
            return
        # Combined Events all count into the first one, whatever their latest message.
        aggregate = COMBINED if message.startswith(COMBINED) else message
        meta = obj.metadata
        key = _Key(meta.uid, obj.kind, meta.namespace, meta.name, type, reason, aggregate)
        self._queue.append(
            _Pending(key, obj.api_version, meta.resource_version, message, now_rfc3339())
        )
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(
                self._write_queued(), name=f"event-recorder {self.component}"
            )

    async def flush(self, timeout: float = CLOSE_TIMEOUT) -> bool:
        """Wait until the queue is written out (each Event written or given up); False
        when `timeout` passed first."""
        writer = self._writer
        if writer is None or writer.done():
            return True
        done, _ = await asyncio.wait({writer}, timeout=timeout)
        return bool(done)

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Write what is queued within `timeout`, then drop the rest and stop the writer.

        Call it before closing the client. A later `record` starts a writer again.
        """
        if await self.flush(timeout):
            return
        writer = self._writer
        dropped = len(self._queue)
        self._queue.clear()
        if dropped:
            self._queue_full.inc(dropped)
            log.info("events not written before close", component=self.component, count=dropped)
        if writer is not None:
            writer.cancel()
            # wait, not await: the writer's CancelledError is not ours to raise.
            await asyncio.wait({writer})

    async def _write_queued(self) -> None:
        """Write the queue in order until it is empty; `record` starts another later."""
        while self._queue:
            await self._write(self._queue.popleft())

    async def _write(self, pending: _Pending) -> None:
        key = pending.key
        what = (
            f"{key.kind} {key.namespace}/{key.name}" if key.namespace else f"{key.kind} {key.name}"
        )
        try:
            previous = self._recorded.get(key)
            event = await self._aggregate(previous, pending) if previous is not None else None
            if event is None:
                event = await self._create(pending)
            self._remember(key, event)
        except ApiError as e:
            log.warning(
                "could not record event",
                object=what,
                reason=key.reason,
                error=f"{e.reason}: {e.message}",
            )
        except Exception:
            log.exception("could not record event", object=what)

    async def _aggregate(
        self, previous: core_pb2.Event, pending: _Pending
    ) -> core_pb2.Event | None:
        """The stored Event with count + 1, or None when it is gone or moved on."""
        event = core_pb2.Event()
        event.CopyFrom(previous)
        event.count = max(event.count, 1) + 1
        event.last_timestamp = pending.stamp
        try:
            return await self._client.update(event)
        except NotFound:
            return None
        except Conflict:
            # Someone else (another replica of this component) bumped it: read and retry once.
            try:
                current = await self._client.get(
                    "events", previous.metadata.namespace, previous.metadata.name
                )
            except NotFound:
                return None
            assert isinstance(current, core_pb2.Event)
            current.count = max(current.count, 1) + 1
            current.last_timestamp = event.last_timestamp
            return await self._client.update(current)

    async def _create(self, pending: _Pending) -> core_pb2.Event:
        key = pending.key
        event = core_pb2.Event(
            api_version="v1",
            kind="Event",
            reason=key.reason,
            message=pending.message,
            type=key.type,
            count=1,
            first_timestamp=pending.stamp,
            last_timestamp=pending.stamp,
            reporting_component=self.component,
            reporting_instance=self.host,
        )
        event.metadata.namespace = key.namespace or "default"
        ref = event.involved_object
        ref.kind = key.kind
        ref.api_version = pending.api_version
        ref.namespace = key.namespace
        ref.name = key.name
        ref.uid = key.uid
        ref.resource_version = pending.resource_version
        event.source.component = self.component
        event.source.host = self.host
        # Nanosecond timestamps make collisions unlikely; retry a clash with the next one.
        for _ in range(3):
            event.metadata.name = f"{key.name}.{time.time_ns():x}"
            try:
                return await self._client.create(event)
            except AlreadyExists:
                continue
        raise AlreadyExists(f"events {event.metadata.name}: three name clashes in a row")

    def _remember(self, key: _Key, event: core_pb2.Event) -> None:
        self._recorded[key] = event
        self._recorded.move_to_end(key)
        while len(self._recorded) > self._cache_size:
            self._recorded.popitem(last=False)

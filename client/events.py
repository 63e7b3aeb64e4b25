"""Recording Events about objects, the way `kubectl describe` shows them.

As in Kubernetes, an Event is named `<object name>.<hex timestamp>` and lives in the
object's namespace ("default" for cluster-scoped objects such as Nodes). A repeat of
the same event (same object, type, reason and message, from the same component) is
aggregated into the existing Event: count + 1 and a new lastTimestamp, instead of a new
object each time. The recorder keeps a small local cache of what it recorded to find
the Event to update; a miss only costs a new Event.

Recording is best effort: it must never fail the caller's work, so errors are logged.

Events must also never cost the cluster more than the work they describe. A ReplicaSet
of 3,000 pods made 3,000 SuccessfulCreate Events, one API write per pod. As client-go's
EventCorrelator does, the recorder therefore

- aggregates similar Events: once more than 10 Events of one object share a type and
  reason but differ in message within 10 minutes, the rest go into one Event whose
  message starts "(combined from similar events): ", counted;
- filters spam: each object may have 25 Events written in a burst, then one per 5
  minutes (a token bucket per object); what is over is dropped and logged at debug.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import structlog

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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.component = component
        self.host = host
        self._cache_size = cache_size
        self._clock = clock
        self._recorded: OrderedDict[_Key, core_pb2.Event] = OrderedDict()
        self._buckets: OrderedDict[tuple[str, str, str, str], _Bucket] = OrderedDict()
        self._similar: OrderedDict[tuple[str, str, str, str, str, str], _Similar] = OrderedDict()

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
        """Record that `reason` happened to `obj` (type Normal or Warning); never raises."""
        message = self._combined(obj, type, reason, message)
        if not self._allowed(obj):
            log.debug("event dropped by the spam filter", object=kinds.key(obj), reason=reason)
            return
        # Combined Events all count into the first one, whatever their latest message.
        aggregate = COMBINED if message.startswith(COMBINED) else message
        key = _Key(
            uid=obj.metadata.uid,
            kind=obj.kind,
            namespace=obj.metadata.namespace,
            name=obj.metadata.name,
            type=type,
            reason=reason,
            message=aggregate,
        )
        try:
            previous = self._recorded.get(key)
            event = await self._aggregate(previous) if previous is not None else None
            if event is None:
                event = await self._create(obj, type, reason, message)
            self._remember(key, event)
        except ApiError as e:
            log.warning(
                "could not record event",
                object=f"{obj.kind} {kinds.key(obj)}",
                reason=reason,
                error=f"{e.reason}: {e.message}",
            )
        except Exception:
            log.exception("could not record event", object=f"{obj.kind} {kinds.key(obj)}")

    async def _aggregate(self, previous: core_pb2.Event) -> core_pb2.Event | None:
        """The stored Event with count + 1, or None when it is gone or moved on."""
        event = core_pb2.Event()
        event.CopyFrom(previous)
        event.count = max(event.count, 1) + 1
        event.last_timestamp = now_rfc3339()
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

    async def _create(self, obj: Object, type: str, reason: str, message: str) -> core_pb2.Event:
        stamp = now_rfc3339()
        event = core_pb2.Event(
            api_version="v1",
            kind="Event",
            reason=reason,
            message=message,
            type=type,
            count=1,
            first_timestamp=stamp,
            last_timestamp=stamp,
            reporting_component=self.component,
            reporting_instance=self.host,
        )
        event.metadata.namespace = obj.metadata.namespace or "default"
        ref = event.involved_object
        ref.kind = obj.kind
        ref.api_version = obj.api_version
        ref.namespace = obj.metadata.namespace
        ref.name = obj.metadata.name
        ref.uid = obj.metadata.uid
        ref.resource_version = obj.metadata.resource_version
        event.source.component = self.component
        event.source.host = self.host
        # Nanosecond timestamps make collisions unlikely; retry a clash with the next one.
        for _ in range(3):
            event.metadata.name = f"{obj.metadata.name}.{time.time_ns():x}"
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

"""The Events section that ends every describe page."""

from __future__ import annotations

from datetime import UTC, datetime

from cli.describe.writer import Writer
from client.api import ApiClient
from client.kinds import Object
from client.printing.age import age, parse_time
from proto import core_pb2


async def events_for(api: ApiClient, obj: Object) -> list[core_pb2.Event]:
    """The events about `obj`, oldest first, matched by uid or by kind, namespace and name.

    Cluster-scoped objects (nodes) have their events in "default", as in Kubernetes.
    """
    meta = obj.metadata
    ns = meta.namespace or "default"
    page = await api.list("events", ns)
    kind = obj.kind or type(obj).__name__
    found = []
    for ev in page.items:
        assert isinstance(ev, core_pb2.Event)
        ref = ev.involved_object
        if (ref.uid and ref.uid == meta.uid) or (
            not ref.uid
            and ref.kind == kind
            and ref.name == meta.name
            and ref.namespace in ("", meta.namespace)
        ):
            found.append(ev)

    def when(ev: core_pb2.Event) -> str:
        return ev.last_timestamp or ev.first_timestamp or ev.metadata.creation_timestamp

    epoch = datetime.fromtimestamp(0, UTC)
    return sorted(found, key=lambda ev: parse_time(when(ev)) or epoch)


def event_age(ev: core_pb2.Event) -> str:
    """`10s`, or `2m (x3 over 5m)` for a repeated event, as kubectl shows it."""
    last = ev.last_timestamp or ev.metadata.creation_timestamp
    first = ev.first_timestamp or last
    if ev.count > 1:
        return f"{age(last)} (x{ev.count} over {age(first)})"
    return age(last or first)


def write_events(w: Writer, events: list[core_pb2.Event]) -> None:
    """`Events:  <none>`, or kubectl's Type/Reason/Age/From/Message table."""
    if not events:
        w.field(0, "Events", "")
        return
    w.title(0, "Events:")
    rows = [
        [
            ev.type or "Normal",
            ev.reason,
            event_age(ev),
            ev.source.component or ev.reporting_component,
            ev.message,
        ]
        for ev in events
    ]
    w.table(1, ["Type", "Reason", "Age", "From", "Message"], rows)

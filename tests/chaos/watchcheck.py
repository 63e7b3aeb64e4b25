"""Did every watcher see every committed change to its keys exactly once, in order?

Two sources of truth meet here. The clients' history says which writes were
acknowledged, at which resourceVersion and with which value (every value is written
once, so it names its write). A reference watch, opened once the faults are over from
the earliest revision any watcher started at, says what etcd committed in between. The
reference is first held to the history: every acknowledged create and update is in it
at the revision the client was given, every acknowledged delete is in it, nothing is in
it that no client wrote, and each key's events follow the register's life (ADDED only
when absent, MODIFIED and DELETED only when present). Then each watcher's stream, which
the API client stitched across its fail-overs by resourceVersion, must be exactly the
reference's events after its start revision and up to the last one it heard: strictly
increasing revisions (no duplicate, no reordering) and nothing missing (no gap).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from tests.chaos.history import Kind, Op, Outcome


@dataclass(frozen=True)
class Event:
    revision: int
    type: str
    """ADDED, MODIFIED or DELETED."""
    key: str
    value: str


@dataclass
class Stream:
    """What one watcher heard, from the revision it started after."""

    name: str
    start: int
    events: list[Event]


def check_reference(reference: list[Event], ops: Iterable[Op]) -> list[str]:
    """Where the committed changes disagree with what the clients were told."""
    problems: list[str] = []
    at = {e.revision: e for e in reference}
    written: set[tuple[str, str]] = set()
    for op in ops:
        if op.kind in (Kind.CREATE, Kind.UPDATE) and op.outcome in (Outcome.OK, Outcome.UNKNOWN):
            assert op.value is not None
            written.add((op.key, op.value))
            if op.outcome is Outcome.OK:
                event = at.get(op.version)
                if event is None or (event.key, event.value) != (op.key, op.value):
                    problems.append(f"acknowledged {op.describe()} at {op.version}: got {event}")
    deleted = {(e.key, e.value) for e in reference if e.type == "DELETED"}
    for op in ops:
        if op.kind is Kind.DELETE and op.outcome is Outcome.OK:
            assert op.output is not None
            if (op.key, op.output) not in deleted:
                problems.append(f"acknowledged {op.describe()} is not among the changes")
    present: dict[str, str] = {}
    for event in reference:
        if event.type != "DELETED" and (event.key, event.value) not in written:
            problems.append(f"{event} holds a value no client wrote")
        exists = event.key in present
        if (event.type == "ADDED") == exists:
            problems.append(f"{event} while the key {'exists' if exists else 'is absent'}")
        if event.type == "DELETED":
            present.pop(event.key, None)
        else:
            present[event.key] = event.value
    return problems


def check_stream(stream: Stream, reference: list[Event]) -> list[str]:
    """Where one watcher's events differ from the committed changes it should have seen."""
    problems: list[str] = []
    revisions = [e.revision for e in stream.events]
    for before, after in itertools.pairwise(revisions):
        if after <= before:
            kind = "a duplicate" if after == before else "out of order"
            problems.append(f"{stream.name}: revision {after} after {before}, {kind}")
    if not stream.events:
        return problems
    last = max(revisions)
    expected = [e for e in reference if stream.start < e.revision <= last]
    heard = set(stream.events)
    missing = [e for e in expected if e not in heard]
    extra = sorted(heard - set(expected), key=lambda e: e.revision)
    problems += [f"{stream.name}: missed {e}" for e in missing]
    problems += [f"{stream.name}: heard {e}, which was never committed" for e in extra]
    return problems

"""kube-apiserver's APF debug dumps, as text: priority levels, queues and requests.

Administrators read these with `kubectl get --raw /debug/api_priority_and_fairness/...`
and compare them with what they know from Kubernetes, and scripts parse them, so the
tables are kube-apiserver 1.32's to the byte: the same headers (its misspelt
"FlowDistingsher" included), column order and value formats, each row's cells joined by
"," and aligned as Go's tabwriter (minimum width 8, padding 1, spaces) aligns them: every
cell but a line's last padded to its column's widest cell plus one. The figures come from
one `Dispatcher.snapshot()`, taken between two awaits, so the three tables of one call
are consistent.

Seats are counted as kube-apiserver counts them, by each request's work estimate
(estimate.py): dump_requests prints its InitialSeats, FinalSeats and AdditionalLatency
(a Go duration: "0s", "5ms", "7.5ms"; the final phase of a request dispatched from a
queue as narrowed to the level's limit, if it was); dump_queues' SeatsInUse counts the
seats of the queue's executing requests and of those in their final phase (which are no
longer among its ExecutingRequests, nor in dump_requests, as there), and its
InitialSeatsSum, MaxSeatsSum and TotalWorkSum add up its waiters' initial seats, widths
and work (initial seats times 3 ms, kube-apiserver's estimated service time, plus
final seats times additional latency). dump_priority_levels has no seat column in
kube-apiserver 1.32, so none here.

Where Tugboat has no figure of its own, the dump prints what kube-apiserver prints for
the equivalent zero or constant:

- a waiting request's StartTime is Go's zero time, "0001-01-01T00:00:00Z", as there;
- times have microseconds, not nanoseconds (Python's clock), trailing zeros dropped as
  Go's RFC3339Nano drops them;
- APIPath is rebuilt from the request's group, version, namespace, resource, name and
  subresource (the dispatcher keeps no URL, and a gRPC request has none): the path
  kubectl would have used.

Where Tugboat's counts differ from kube-apiserver 1.32's:

- TimedoutRequests counts the waiters whose wait limit passed; kube-apiserver declares
  that counter but never increments it (it always prints 0), and counts those waiters,
  and the ones whose client went away, as CancelledRequests and RejectedRequests, as
  this does;
- queues are made lazily (only queues holding waiting, executing or finishing requests
  exist), so dump_queues lists those, by their index among the level's configured
  queues, where kube-apiserver lists every configured queue, empty or not;
- levels are in name order in every table (kube-apiserver sorts them only in
  dump_priority_levels; the others follow Go's random map order);
- non-resource requests (discovery, health, these dumps) take no seat in Tugboat, so
  the dump request itself is not among the exempt level's executing requests.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from master.apiserver.flowcontrol.dispatcher import LevelSnapshot
from master.apiserver.flowcontrol.model import RequestDigest

PREFIX = "/debug/api_priority_and_fairness"
PRIORITY_LEVELS = f"{PREFIX}/dump_priority_levels"
QUEUES = f"{PREFIX}/dump_queues"
REQUESTS = f"{PREFIX}/dump_requests"
INCLUDE_REQUEST_DETAILS = "includeRequestDetails"
"""dump_requests' query parameter: any non-empty value adds the request columns."""

PRIORITY_LEVEL_COLUMNS = (
    "PriorityLevelName",
    "ActiveQueues",
    "IsIdle",
    "IsQuiescing",
    "WaitingRequests",
    "ExecutingRequests",
    "DispatchedRequests",
    "RejectedRequests",
    "TimedoutRequests",
    "CancelledRequests",
)
QUEUE_COLUMNS = (
    "PriorityLevelName",
    "Index",
    "PendingRequests",
    "ExecutingRequests",
    "SeatsInUse",
    "NextDispatchR",
    "InitialSeatsSum",
    "MaxSeatsSum",
    "TotalWorkSum",
)
REQUEST_COLUMNS = (
    "PriorityLevelName",
    "FlowSchemaName",
    "QueueIndex",
    "RequestIndexInQueue",
    "FlowDistingsher",  # sic, as kube-apiserver spells it
    "ArriveTime",
    "InitialSeats",
    "FinalSeats",
    "AdditionalLatency",
    "StartTime",
)
REQUEST_DETAIL_COLUMNS = (
    "UserName",
    "Verb",
    "APIPath",
    "Namespace",
    "Name",
    "APIVersion",
    "Resource",
    "SubResource",
)

MIN_WIDTH = 8
PADDING = 1
SEAT_SECOND_SCALE = 10**8
"""kube-apiserver's fixed point for seat-seconds: 10^-8 of one."""
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as Go's tabwriter (minwidth 8, padding 1, ' ') prints cells ending ",\\t":
    every cell but the last of a line, comma included, is padded to its column's widest
    plus one, at least 8. All rows have the same number of cells."""
    lines = [[*(f"{cell}," for cell in row[:-1]), row[-1]] for row in rows]
    aligned = len(lines[0]) - 1
    widths = [
        max(MIN_WIDTH, max(len(line[column]) for line in lines) + PADDING)
        for column in range(aligned)
    ]
    return "".join(
        "".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
        + line[-1]
        + "\n"
        for line in lines
    )


def _bool(value: bool) -> str:
    return "true" if value else "false"


def seat_seconds(units: int) -> str:
    """Go's SeatSeconds.String() of `units` 10^-8 seat-seconds: "0.00300000ss"."""
    whole, fraction = divmod(max(units, 0), SEAT_SECOND_SCALE)
    return f"{whole}.{fraction:08d}ss"


def _units(seconds: float) -> int:
    return round(seconds * SEAT_SECOND_SCALE)


def go_duration(ns: int) -> str:
    """Go's time.Duration.String() of `ns` nanoseconds: "0s", "750ns", "1.5µs", "5ms",
    "7.5ms", "2.5s", "1m0s", "1h2m3.5s"."""
    if ns == 0:
        return "0s"
    sign, left = ("-" if ns < 0 else ""), abs(ns)
    if left < 1_000:
        return f"{sign}{left}ns"
    if left < 1_000_000:
        return f"{sign}{_decimal(left, 3)}µs"
    if left < 1_000_000_000:
        return f"{sign}{_decimal(left, 6)}ms"
    minutes, in_minute = divmod(left, 60 * 10**9)
    hours, minutes = divmod(minutes, 60)
    text = f"{_decimal(in_minute, 9)}s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def _decimal(value: int, places: int) -> str:
    """`value` / 10**places with its fraction's trailing zeros (and a bare point)
    dropped, as Go's fmtFrac writes it."""
    whole, fraction = divmod(value, 10**places)
    digits = f"{fraction:0{places}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def rfc3339nano(wall: float) -> str:
    """Go's time.Format(RFC3339Nano) in UTC: trailing zeros of the fraction dropped."""
    moment = datetime.fromtimestamp(wall, tz=UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def dump_priority_levels(levels: Iterable[LevelSnapshot]) -> str:
    """One row per priority level, by name. ActiveQueues counts the queues with waiters,
    as kube-apiserver counts them."""
    rows = [list(PRIORITY_LEVEL_COLUMNS)]
    for level in levels:
        q = level.queues
        rows.append(
            [
                level.name,
                str(sum(1 for queue in q.queues if queue.waiting)),
                _bool(q.idle),
                _bool(level.quiescing),
                str(q.waiting),
                str(q.executing),
                str(q.dispatched),
                str(q.rejected),
                str(q.timed_out),
                str(q.cancelled),
            ]
        )
    return table(rows)


def dump_queues(levels: Iterable[LevelSnapshot]) -> str:
    """One row per existing queue (see the module docstring), levels by name, queues by
    index; the seat columns count widths."""
    rows = [list(QUEUE_COLUMNS)]
    for level in levels:
        for queue in level.queues.queues:
            waiting = queue.waiting
            rows.append(
                [
                    level.name,
                    str(queue.index),
                    str(len(waiting)),
                    str(len(queue.executing)),
                    str(queue.seats_in_use),
                    seat_seconds(_units(queue.next_r)),
                    str(sum(r.work.initial_seats for r in waiting)),
                    str(sum(r.work.max_seats for r in waiting)),
                    seat_seconds(sum(r.work_units for r in waiting)),
                ]
            )
    return table(rows)


def dump_requests(
    levels: Iterable[LevelSnapshot], *, details: bool = False, wall: float | None = None
) -> str:
    """One row per request: each queue's waiters in order (RequestIndexInQueue from 0),
    then its executing requests (-1), then the level's queueless executing requests
    (QueueIndex -1). `details` adds the user and request columns. `wall` is the time now
    (default: the system's), from which the queue set's clock readings are dated."""
    now = time.time() if wall is None else wall
    header = list(REQUEST_COLUMNS)
    if details:
        header += REQUEST_DETAIL_COLUMNS
    rows = [header]
    for level in levels:
        # The queue set's clock read `clock` at `now`: a reading r was at now - (clock - r).
        ago = now - level.queues.clock
        placed = [
            (queue.index, position, r)
            for queue in level.queues.queues
            for position, r in [*enumerate(queue.waiting), *((-1, r) for r in queue.executing)]
        ]
        placed += [(-1, -1, r) for r in level.queues.queueless]
        for queue_index, position, r in placed:
            cells = [
                level.name,
                r.schema,
                str(queue_index),
                str(position),
                r.distinguisher,
                rfc3339nano(ago + r.arrived),
                str(r.work.initial_seats),
                str(r.work.final_seats),
                go_duration(r.work.latency_ns),
                GO_ZERO_TIME if r.started is None else rfc3339nano(ago + r.started),
            ]
            if details:
                cells += _request_details(r.digest)
            rows.append(cells)
    return table(rows)


def _request_details(digest: RequestDigest | None) -> list[str]:
    if digest is None:
        return [""] * len(REQUEST_DETAIL_COLUMNS)
    group, version = digest.api_group, digest.api_version
    # As kube-apiserver's request info: a Namespace object's namespace is its name.
    namespace = digest.name if digest.resource == "namespaces" else digest.namespace
    return [
        digest.user,
        digest.verb,
        api_path(digest),
        namespace,
        digest.name,
        f"{group}/{version}" if group else version,
        digest.resource,
        digest.subresource,
    ]


def api_path(digest: RequestDigest) -> str:
    """The URL path of the request: a non-resource request's own, a resource request's
    rebuilt from its parts."""
    if not digest.is_resource_request:
        return digest.path
    parts = [f"/apis/{digest.api_group}" if digest.api_group else "/api", digest.api_version]
    if digest.namespace and digest.resource != "namespaces":
        parts += ["namespaces", digest.namespace]
    parts += [part for part in (digest.resource, digest.name, digest.subresource) if part]
    return "/".join(parts)

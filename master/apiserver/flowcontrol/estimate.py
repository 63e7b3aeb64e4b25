"""How many seats a request occupies, and for how long: Kubernetes' work estimate.

A list of ten thousand pods costs the server what a hundred gets cost, and a write to a
kind a thousand clients watch costs a thousand events after the write itself; a seat
each would let a few such requests crowd a level. So, as kube-apiserver 1.32 with its
default object-count estimator (SizeBasedListCostEstimate off), each request gets a
`WorkEstimate` once it is classified: seats while its handler runs (initial), and seats
held a little longer once the handler has returned (final, for `additional_latency`),
which the queue set charges in seat-seconds and never makes the caller wait for.

- A list or a watch (which reads a list first) costs a seat per 100 objects it is
  expected to touch, at least 1 and at most the level's `max_seats` (never above 10):
  the objects of the kind when it is served from the watch cache (every watch, and a
  list the cache answers: see `served_from_cache`); with a selector, from etcd, every
  stored object plus the page it returns; without one, twice the page (etcd reads it,
  the server encodes it). A request for one object by name (in its path or as a
  `metadata.name=` field selector) costs 1, and so does a watch that sends no initial
  events (resourceVersion set and not "0", no sendInitialEvents), as Kubernetes charges
  legacy watches since 1.35 (every 1.32 release charged every watch without
  sendInitialEvents the minimum, one from "" or "0" included, though it sends every
  object first). An unknown count (no ready watch cache for the kind: Kubernetes' "not
  found") costs the minimum, as Kubernetes gives an aggregated kind the minimum.
- A create, update, patch or delete costs 1 seat while it runs; when 10 or more
  watchers will receive its event, it then holds ceil(watchers / 10) seats for 5 ms,
  reshaped (same area of seat-seconds, fewer seats for longer) to at most the level's
  `max_seats` (at most 10). A ServiceAccount token request makes no event.
- Everything else (get, deletecollection, ...) costs 1 seat.

The counts are not read here: the API server gives a `StoreCounts` from its watch cache
with each request, so this module stays plain arithmetic over plain data and the package
still knows nothing of etcd or HTTP. Seat-seconds and durations use Kubernetes' fixed
point (10^-8 seat-second, whole nanoseconds), so a reshaped latency is the one
kube-apiserver's debug dump would print.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from master.apiserver.flowcontrol.model import RequestDigest

MIN_SEATS = 1
MAX_LIST_SEATS = 10
"""kube-apiserver 1.32's cap on a list's seats with the object-count estimator."""
MAX_MUTATING_SEATS = 10
OBJECTS_PER_SEAT = 100
WATCHERS_PER_SEAT = 10
EVENT_LATENCY_NS = 5_000_000
"""The time each event is assumed to keep its seat busy after a write (5 ms)."""
MAX_SEATS_PERCENT_OF_NOMINAL = 0.15
SEAT_SECOND_UNITS = 10**8
"""Kubernetes' fixed point for seat-seconds: 10^-8 of one."""
MUTATING_VERBS = frozenset({"create", "update", "patch", "delete"})
"""The verbs whose event watchers receive (deletecollection is not among them in
Kubernetes either)."""
TRUE_VALUES = ("1", "true", "yes")
"""How the REST front-end reads a boolean query parameter."""


@dataclass(frozen=True)
class WorkEstimate:
    """One request's seats: `initial_seats` while it runs, then `final_seats` for
    `additional_latency` seconds after its handler returned."""

    initial_seats: int = MIN_SEATS
    final_seats: int = 0
    additional_latency: float = 0.0
    """Seconds, a whole number of nanoseconds (as Go's time.Duration)."""

    @property
    def max_seats(self) -> int:
        """The seats the request needs to start and holds until it is wholly done."""
        return max(self.initial_seats, self.final_seats)

    @property
    def latency_ns(self) -> int:
        return round(self.additional_latency * 1e9)

    def reshaped(self, final_seats: int) -> WorkEstimate:
        """The same final work (seats times latency, in Kubernetes' fixed point) spread over
        `final_seats` seats, for proportionally longer."""
        units = round(self.final_seats * self.latency_ns / 10)
        return replace(
            self, final_seats=final_seats, additional_latency=int(units / final_seats * 10) / 1e9
        )


ONE_SEAT = WorkEstimate()


@dataclass(frozen=True)
class ListOptions:
    """What a list or a watch asked for, as the estimate reads it (Kubernetes'
    ListOptions). Other requests leave it empty."""

    limit: int = 0
    label_selector: str = ""
    field_selector: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    continue_token: str = ""
    send_initial_events: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ListOptions:
        """The options of a REST query string. A limit that is not a number counts as
        none: the list is refused as Invalid anyway, after its seat was given."""
        try:
            limit = int(query.get("limit", "") or 0)
        except ValueError:
            limit = 0
        return cls(
            limit=limit,
            label_selector=query.get("labelSelector", ""),
            field_selector=query.get("fieldSelector", ""),
            resource_version=query.get("resourceVersion", ""),
            resource_version_match=query.get("resourceVersionMatch", ""),
            continue_token=query.get("continue", ""),
            send_initial_events=query.get("sendInitialEvents", "").lower() in TRUE_VALUES,
        )


NO_OPTIONS = ListOptions()


@dataclass(frozen=True)
class StoreCounts:
    """What the API server's watch cache knows of the request's kind."""

    objects: int | None = None
    """How many objects of the kind are stored; None when unknown (no ready cache)."""
    watchers: int = 0
    """How many watchers receive every event of the kind (Kubernetes leaves out the
    pod watchers of one node, which the cache serves through its node index)."""
    consistent_lists_cached: bool = False
    """Whether a consistent list (resourceVersion "", no limit) is answered from the
    watch cache (etcd's progress notifications are ordered: watchcache.py)."""


UNKNOWN_COUNTS = StoreCounts()


def level_max_seats(nominal: int, hand_size: int | None) -> int:
    """The most seats one request of a queuing level may be given: 15% of its nominal
    limit (10 seats at kube-apiserver's default 600 for its default levels) but no more
    than a hand's share of it, and at least 1, as kube-apiserver's config controller
    computes it. 0 for a level without queues (exempt or Reject), for which
    kube-apiserver sets nothing and the estimators' own caps apply."""
    if hand_size is None or hand_size <= 0:
        return 0
    share = math.ceil(float(nominal) * MAX_SEATS_PERCENT_OF_NOMINAL)
    return max(1, min(share, nominal // hand_size))


def estimate(
    digest: RequestDigest, options: ListOptions, counts: StoreCounts, max_seats: int
) -> WorkEstimate:
    """The work of one classified request in a level whose `max_seats` is given (0: the
    level sets none)."""
    if digest.verb in ("list", "watch"):
        return _list_work(digest, options, counts, _cap(max_seats, MAX_LIST_SEATS))
    if digest.verb in MUTATING_VERBS:
        return _mutating_work(digest, counts, _cap(max_seats, MAX_MUTATING_SEATS))
    return ONE_SEAT


def _cap(level_max: int, limit: int) -> int:
    return limit if level_max <= 0 or level_max > limit else level_max


def _list_work(
    digest: RequestDigest, options: ListOptions, counts: StoreCounts, most: int
) -> WorkEstimate:
    if digest.verb == "watch" and not sends_initial_events(options):
        return ONE_SEAT
    stored = counts.objects
    if stored is None:
        return ONE_SEAT
    page = options.limit if 0 < options.limit < stored else stored
    if digest.name or selected_name(options.field_selector):
        touched = 1
    elif digest.verb == "watch" or served_from_cache(options, counts):
        touched = stored
    elif options.label_selector or options.field_selector:
        touched = stored + page
    else:
        touched = 2 * page
    seats = math.ceil(touched / OBJECTS_PER_SEAT)
    return WorkEstimate(min(max(seats, MIN_SEATS), most))


def sends_initial_events(options: ListOptions) -> bool:
    """Whether a watch starts with an event for every object, as a list would: asked
    for, or from resourceVersion "" or "0" (a legacy watch's start)."""
    return options.send_initial_events or options.resource_version in ("", "0")


def served_from_cache(options: ListOptions, counts: StoreCounts) -> bool:
    """Whether Tugboat's watch cache answers the list (watchcache.py's rules), as
    Kubernetes asks whether its cacher would: a continued page or an exact revision
    reads etcd; "0" or "not older than" a revision, the cache; a consistent list, the
    cache where consistent reads from it are on and it is not cut into pages."""
    if options.continue_token or options.resource_version_match == "Exact":
        return False
    if options.limit < 0:
        return False
    if options.resource_version:
        return True
    return options.limit == 0 and counts.consistent_lists_cached


def selected_name(field_selector: str) -> str:
    """The name a field selector requires (`metadata.name=x` or `==`), which
    kube-apiserver takes as the request's name: such a list reads one object."""
    for part in _unescaped_split(field_selector):
        field, equals, value = part.partition("=")
        if not equals or field.endswith("!"):
            continue
        if field.strip() == "metadata.name":
            return value.removeprefix("=").strip()
    return ""


def _unescaped_split(text: str) -> list[str]:
    parts, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2  # an escaped character (a comma in a value) does not split
            continue
        if text[i] == ",":
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]


def _mutating_work(digest: RequestDigest, counts: StoreCounts, most: int) -> WorkEstimate:
    if digest.resource == "serviceaccounts" and digest.subresource == "token":
        return ONE_SEAT  # a token is made, nothing stored: no watcher hears of it
    if counts.watchers < WATCHERS_PER_SEAT:
        # Kubernetes charges nothing after a write with few watchers, so as not to
        # lengthen almost every write while the algorithm is being tuned.
        return ONE_SEAT
    final = math.ceil(counts.watchers / WATCHERS_PER_SEAT)
    work = WorkEstimate(1, final, EVENT_LATENCY_NS / 1e9)
    return work.reshaped(most) if final > most else work


__all__ = [
    "MAX_LIST_SEATS",
    "MAX_MUTATING_SEATS",
    "MIN_SEATS",
    "NO_OPTIONS",
    "ONE_SEAT",
    "UNKNOWN_COUNTS",
    "ListOptions",
    "StoreCounts",
    "WorkEstimate",
    "estimate",
    "level_max_seats",
    "selected_name",
    "sends_initial_events",
    "served_from_cache",
]

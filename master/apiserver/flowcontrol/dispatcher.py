"""The API server's entry to Priority and Fairness: classify, wait for a seat, run.

One `Dispatcher` holds the current configuration: the classifier, and per priority
level its queue set and seat limits. `configure` replaces the configuration whole, as
kube-apiserver's config controller does on every change of the API objects:

- the mandatory `exempt` and `catch-all` levels and schemas are supplied when missing,
  so every request has somewhere to go;
- a broken level (a queuing that cannot be dealt, or an exempt flag that disagrees with
  the name "exempt", which is the only level Kubernetes lets be exempt) is ignored, and
  so is a schema naming a level that does not exist (Kubernetes' "dangling" schema);
- a level that survives keeps its queue set: its waiters keep their places and its
  executing requests their seats, under the new queuing and limits;
- a level that is gone stops receiving requests (no schema can name it) but is kept,
  "quiescing", until its executing requests finish and its waiters are served under
  its old limits; then it is dropped and the others' shares recomputed. Its shares
  count until then, as in Kubernetes.

Once classified, a request's work is estimated (estimate.py) within its level's
`max_seats` (15% of its nominal limit, at most a hand's share), and it waits for as many
seats as that says; the apiserver_flowcontrol_work_estimated_seats histogram records
each estimate's width.

A watch waits for and takes its seats like any other request, because its
initialisation (from resourceVersion "", every existing object is sent first) costs
what a list costs, and is estimated as one; as in kube-apiserver it gives the seats
back once initialised: the caller calls `Admission.release_seat()` when the initial
events are out, and the watch runs on without a seat (a seat held for the life of a
watch would be lost to the level). The other long-running requests (pod log, exec,
attach, portforward) are classified, for the response headers, but take no seat, as
kube-apiserver does not dispatch them at all.

`adjust_limits` is Kubernetes' borrowing step; `run` repeats it every 10 s for the life
of the server.

`snapshot` copies every level's state out for the debug endpoints (debug.py): read in
one go between two awaits, it is consistent without a lock, and changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

import structlog

from client import errors
from master.apiserver.flowcontrol.classifier import Classifier, FlowKey
from master.apiserver.flowcontrol.estimate import (
    NO_OPTIONS,
    UNKNOWN_COUNTS,
    ListOptions,
    StoreCounts,
    estimate,
    level_max_seats,
)
from master.apiserver.flowcontrol.metrics import FlowControlMetrics
from master.apiserver.flowcontrol.model import (
    CATCH_ALL,
    EXEMPT,
    MANDATORY_CATCH_ALL_LEVEL,
    MANDATORY_CATCH_ALL_SCHEMA,
    MANDATORY_EXEMPT_LEVEL,
    MANDATORY_EXEMPT_SCHEMA,
    FlowSchema,
    PriorityLevel,
    RequestDigest,
)
from master.apiserver.flowcontrol.queueset import Dealer, QueueSet, QueueSetSnapshot, Rejected
from master.apiserver.flowcontrol.seats import (
    ADJUSTMENT_PERIOD,
    LevelDemand,
    SeatLimits,
    configured_limits,
    current_limits,
    smoothed,
)

log = structlog.get_logger("apiserver.flowcontrol")

RETRY_AFTER_SECONDS = 1
TOO_MANY_REQUESTS = "Too many requests, please try again later."
WATCH = "watch"
"""The one long-running verb that takes a seat (until its watch is initialised)."""


def _no_seat() -> None:
    pass


@dataclass(frozen=True)
class Admission:
    """Where a request was classified: the HTTP layer reports the uids as the
    X-Kubernetes-PF-FlowSchema-UID and X-Kubernetes-PF-PriorityLevel-UID headers."""

    flow_schema: str
    flow_schema_uid: str
    priority_level: str
    priority_level_uid: str
    flow_distinguisher: str
    _release: Callable[[], None] = field(default=_no_seat, compare=False, repr=False, kw_only=True)

    def release_seat(self) -> None:
        """Give the request's seat back while it keeps running: a watch calls it once its
        initial events are sent. The next request in line may take the seat at once,
        and the executing requests and seats of the level drop. Calling it again, or for
        a request that holds no seat, does nothing; leaving `Dispatcher.admit`'s context
        calls it if it was not called."""
        self._release()


@dataclass(frozen=True)
class LevelSnapshot:
    """One priority level at one instant, for the debug dumps (`Dispatcher.snapshot`)."""

    name: str
    quiescing: bool
    """No longer configured; kept until its requests are done."""
    queues: QueueSetSnapshot


@dataclass
class _Level:
    config: PriorityLevel
    queues: QueueSet
    limits: SeatLimits = field(default_factory=lambda: SeatLimits(0, 0, 0))
    quiescing: bool = False
    smoothed_demand: float = 0.0
    max_seats: int = 0
    """The widest estimate its requests may get (0: the estimators' own caps)."""


class Dispatcher:
    """Admits requests under API Priority and Fairness (see the module docstring)."""

    def __init__(
        self,
        server_concurrency_limit: int,
        metrics: FlowControlMetrics,
        queue_wait_limit: float = 15.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if server_concurrency_limit <= 0:
            raise ValueError("the server concurrency limit must be positive")
        self.server_concurrency_limit = server_concurrency_limit
        self.queue_wait_limit = queue_wait_limit
        self.metrics = metrics
        self._clock = clock
        self._levels: dict[str, _Level] = {}
        self._classifier = Classifier(())
        self._nominal_sum = 0
        self.configure((), ())

    # --- configuration -------------------------------------------------------------

    def configure(self, schemas: Iterable[FlowSchema], levels: Iterable[PriorityLevel]) -> None:
        """Replace the configuration (see the module docstring for what carries over)."""
        wanted = _usable_levels(levels)
        usable_schemas = _usable_schemas(schemas, wanted)
        fresh: dict[str, _Level] = {}
        for name, config in wanted.items():
            level = self._levels.get(name)
            if level is None:
                level = _Level(
                    config, QueueSet(name, self.metrics, exempt=config.exempt, clock=self._clock)
                )
            level.config, level.quiescing = config, False
            fresh[name] = level
        for name, level in self._levels.items():
            if name in fresh:
                continue
            if level.queues.idle:
                self.metrics.forget_level(name)
            else:
                level.quiescing = True
                fresh[name] = level
        self._levels = fresh
        self._classifier = Classifier(usable_schemas)
        self._apply_limits()

    def _apply_limits(self) -> None:
        limits = configured_limits(
            self.server_concurrency_limit, [level.config for level in self._levels.values()]
        )
        for name, level in self._levels.items():
            level.limits = limits[name]
            queuing = None if level.config.exempt else level.config.queuing
            level.max_seats = level_max_seats(
                level.limits.nominal, queuing.hand_size if queuing is not None else None
            )
            level.queues.configure(queuing, level.limits.nominal)
            self.metrics.nominal_limit.labels(name).set(level.limits.nominal)
            self.metrics.lower_limit.labels(name).set(level.limits.lower)
            self.metrics.upper_limit.labels(name).set(level.limits.upper)
        self._nominal_sum = sum(limit.nominal for limit in limits.values())
        self.adjust_limits()

    def adjust_limits(self) -> None:
        """Kubernetes' borrowing step: each level's current limit from its seat demand
        since the last step (every 10 s in `run`)."""
        demands: dict[str, LevelDemand] = {}
        for name, level in self._levels.items():
            demand = level.queues.demand.reset()
            level.smoothed_demand = smoothed(level.smoothed_demand, demand)
            demands[name] = LevelDemand(
                level.limits, level.config.exempt, demand.high_watermark, level.smoothed_demand
            )
            self.metrics.demand_high_watermark.labels(name).set(demand.high_watermark)
            self.metrics.demand_average.labels(name).set(demand.average)
            self.metrics.demand_stdev.labels(name).set(demand.deviation)
            self.metrics.demand_smoothed.labels(name).set(level.smoothed_demand)
        adjustment = current_limits(self._nominal_sum, demands)
        for name, level in self._levels.items():
            level.queues.set_limit(adjustment.current[name])
            self.metrics.current_limit.labels(name).set(adjustment.current[name])
            if name in adjustment.targets:
                self.metrics.target.labels(name).set(adjustment.targets[name])
        self.metrics.fair_fraction.set(adjustment.fair_fraction)

    async def run(self, period: float = ADJUSTMENT_PERIOD) -> None:
        """Adjust the limits every `period` seconds until cancelled."""
        while True:
            await asyncio.sleep(period)
            self.adjust_limits()

    def limits(self, level: str) -> tuple[SeatLimits, int]:
        """A level's configured limits and its current limit (for status and tests)."""
        state = self._levels[level]
        return state.limits, state.queues.limit

    def max_seats(self, level: str) -> int:
        """The widest work estimate a level's requests may get; 0 where the level sets
        none (exempt and Reject levels) and the estimators' caps apply."""
        return self._levels[level].max_seats

    def snapshot(self) -> tuple[LevelSnapshot, ...]:
        """Every level's state, by name, for the debug dumps; reading it changes nothing."""
        return tuple(
            LevelSnapshot(name, level.quiescing, level.queues.snapshot())
            for name, level in sorted(self._levels.items())
        )

    # --- requests ------------------------------------------------------------------

    def _classify(self, digest: RequestDigest) -> tuple[FlowSchema, FlowKey, _Level]:
        schema, key = self._classifier.flow_of(digest)
        # Every usable schema names a level that exists, and the fallback's always does.
        return schema, key, self._levels[schema.priority_level]

    def classify(self, digest: RequestDigest) -> Admission:
        """Where the request belongs, without taking a seat."""
        schema, key, level = self._classify(digest)
        return _admission(schema, key, level)

    @asynccontextmanager
    async def admit(
        self,
        digest: RequestDigest,
        classified: Callable[[Admission], None] | None = None,
        *,
        options: ListOptions = NO_OPTIONS,
        counts: StoreCounts = UNKNOWN_COUNTS,
    ) -> AsyncIterator[Admission]:
        """Run the request inside, holding its seats of its level until the context
        exits or `Admission.release_seat()` is called (a watch calls it once
        initialised); seats of a final phase are held a little longer, without the
        caller. Long-running requests other than watches take no seat. `classified` is
        told where the request belongs before it waits (the HTTP layer names it on the
        answer, a refusal included). `options` (a list's or a watch's) and `counts`
        (the store's, for the request's kind) are what its work estimate reads.

        Raises TooManyRequests when the level refuses it."""
        schema, key, level = self._classify(digest)
        admission = _admission(schema, key, level)
        if classified is not None:
            classified(admission)
        if digest.long_running and digest.verb != WATCH:
            yield admission
            return
        queues = level.queues
        work = estimate(digest, options, counts, level.max_seats)
        self.metrics.work_estimated_seats.labels(level.config.name, schema.name).observe(
            work.max_seats
        )
        arrived = self._clock()
        try:
            seat = await queues.acquire(
                key.hash(),
                schema.name,
                self.queue_wait_limit,
                work=work,
                distinguisher=key.distinguisher,
                digest=digest,
            )
        except (Rejected, asyncio.CancelledError) as refusal:
            self._observe_wait(admission, arrived, executed=False, exempt=queues.exempt)
            self._reap_if_drained(level)
            if isinstance(refusal, Rejected):
                raise errors.TooManyRequests(
                    TOO_MANY_REQUESTS, retry_after=RETRY_AFTER_SECONDS
                ) from None
            raise
        self._observe_wait(admission, arrived, executed=True, exempt=queues.exempt)
        self.metrics.dispatched.labels(level.config.name, schema.name).inc()
        started = self._clock()
        # As in Kubernetes, a watch's execution is the time it held its seat.
        kind = WATCH if digest.verb == WATCH else "regular"
        held = True

        def release_seat() -> None:
            nonlocal held
            if not held:
                return
            held = False
            queues.release(seat)
            self.metrics.execution_duration.labels(level.config.name, schema.name, kind).observe(
                self._clock() - started
            )
            self._reap_if_drained(level)

        try:
            yield replace(admission, _release=release_seat)
        finally:
            release_seat()

    def _observe_wait(
        self, admission: Admission, arrived: float, *, executed: bool, exempt: bool
    ) -> None:
        if exempt:
            return  # an exempt request never queues, so it has no wait to report
        self.metrics.wait_duration.labels(
            admission.priority_level, admission.flow_schema, "true" if executed else "false"
        ).observe(self._clock() - arrived)

    def _reap_if_drained(self, level: _Level) -> None:
        name = level.config.name
        if level.quiescing and level.queues.idle and self._levels.get(name) is level:
            del self._levels[name]
            self.metrics.forget_level(name)
            self._apply_limits()


def _admission(schema: FlowSchema, key: FlowKey, level: _Level) -> Admission:
    return Admission(
        flow_schema=schema.name,
        flow_schema_uid=schema.uid,
        priority_level=level.config.name,
        priority_level_uid=level.config.uid,
        flow_distinguisher=key.distinguisher,
    )


def _usable_levels(levels: Iterable[PriorityLevel]) -> dict[str, PriorityLevel]:
    usable: dict[str, PriorityLevel] = {}
    for level in levels:
        if level.name in usable:
            raise ValueError(f"two priority levels named {level.name!r}")
        problem = _problem(level)
        if problem:
            log.warning(
                "priority level ignored",
                key=f"prioritylevelconfigurations/{level.name}",
                problem=problem,
            )
            continue
        usable[level.name] = level
    usable.setdefault(EXEMPT, MANDATORY_EXEMPT_LEVEL)
    usable.setdefault(CATCH_ALL, MANDATORY_CATCH_ALL_LEVEL)
    return usable


def _problem(level: PriorityLevel) -> str:
    if level.exempt != (level.name == EXEMPT):
        return 'only the level named "exempt" is exempt, and it must be'
    if level.nominal_concurrency_shares < 0:
        return "negative nominal concurrency shares"
    if level.queuing is not None and not level.exempt:
        if level.queuing.queue_length_limit < 1:
            return "queue length limit below 1"
        try:
            Dealer(level.queuing.queues, level.queuing.hand_size)
        except ValueError as bad:
            return str(bad)
    return ""


def _usable_schemas(
    schemas: Iterable[FlowSchema], levels: dict[str, PriorityLevel]
) -> list[FlowSchema]:
    usable: dict[str, FlowSchema] = {}
    seen: set[str] = set()
    for schema in schemas:
        if schema.name in seen:
            raise ValueError(f"two flow schemas named {schema.name!r}")
        seen.add(schema.name)
        if schema.priority_level in levels:
            usable[schema.name] = schema
    usable.setdefault(EXEMPT, MANDATORY_EXEMPT_SCHEMA)
    usable.setdefault(CATCH_ALL, MANDATORY_CATCH_ALL_SCHEMA)
    return list(usable.values())

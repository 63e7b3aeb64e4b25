"""API Priority and Fairness metrics under kube-apiserver's own names and labels.

Dashboards and alerts written for Kubernetes (rejections by reason, queue waits, seats
per level) then work unchanged. Only the series this package can fill honestly are
here: the ratio histograms Kubernetes samples every nanosecond and its virtual-time
debugging gauges are left out. The seat gauges count seats, each request as wide as
its work estimate (a request in its final phase still holds its seats, but is no longer
among the executing requests), and work_estimated_seats records each estimate's width
(the larger of its initial and final seats). As in Kubernetes, request_execution_seconds
has type "watch" for a watch, measuring the time it held its seats (until initialised),
and "regular" for the rest. The registry is passed in, so several dispatchers can live
in one process (tests, several API servers) without their series colliding.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_PREFIX = "apiserver_flowcontrol_"
_LEVEL = "priority_level"
_SCHEMA = "flow_schema"
_DURATION_BUCKETS = (0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30)
_QUEUE_LENGTH_BUCKETS = (0, 10, 25, 50, 100, 250, 500, 1000)
_SEATS_BUCKETS = (1, 2, 4, 10)
"""Kubernetes' buckets: an estimate is at most 10 seats wide."""


class FlowControlMetrics:
    """Every series the dispatcher writes, registered on `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        per_flow = [_LEVEL, _SCHEMA]
        self.dispatched = Counter(
            _PREFIX + "dispatched_requests_total",
            "Number of requests executed by API Priority and Fairness subsystem",
            per_flow,
            registry=r,
        )
        self.rejected = Counter(
            _PREFIX + "rejected_requests_total",
            "Number of requests rejected by API Priority and Fairness subsystem",
            [*per_flow, "reason"],
            registry=r,
        )
        self.inqueue_requests = Gauge(
            _PREFIX + "current_inqueue_requests",
            "Number of requests currently pending in queues of the API Priority and "
            "Fairness subsystem",
            per_flow,
            registry=r,
        )
        self.inqueue_seats = Gauge(
            _PREFIX + "current_inqueue_seats",
            "Number of seats currently pending in queues of the API Priority and Fairness "
            "subsystem",
            per_flow,
            registry=r,
        )
        self.executing_requests = Gauge(
            _PREFIX + "current_executing_requests",
            "Number of requests in any execution stage in the API Priority and Fairness subsystem",
            per_flow,
            registry=r,
        )
        self.executing_seats = Gauge(
            _PREFIX + "current_executing_seats",
            "Concurrency (number of seats) occupied by the currently executing requests in "
            "the API Priority and Fairness subsystem",
            per_flow,
            registry=r,
        )
        self.wait_duration = Histogram(
            _PREFIX + "request_wait_duration_seconds",
            "Length of time a request spent waiting in its queue",
            [*per_flow, "execute"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.execution_duration = Histogram(
            _PREFIX + "request_execution_seconds",
            "Duration of request execution in the API Priority and Fairness subsystem",
            [*per_flow, "type"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.queue_length_after_enqueue = Histogram(
            _PREFIX + "request_queue_length_after_enqueue",
            "Length of queue in the API Priority and Fairness subsystem, as seen by each "
            "request after it is enqueued",
            per_flow,
            buckets=_QUEUE_LENGTH_BUCKETS,
            registry=r,
        )
        self.work_estimated_seats = Histogram(
            _PREFIX + "work_estimated_seats",
            "Number of estimated seats (maximum of initial and final seats) associated with "
            "requests in API Priority and Fairness",
            per_flow,
            buckets=_SEATS_BUCKETS,
            registry=r,
        )
        self.nominal_limit = self._per_level(
            "nominal_limit_seats",
            "Nominal number of execution seats configured for each priority level",
        )
        self.lower_limit = self._per_level(
            "lower_limit_seats",
            "Configured lower bound on number of execution seats available to each priority level",
        )
        self.upper_limit = self._per_level(
            "upper_limit_seats",
            "Configured upper bound on number of execution seats available to each priority level",
        )
        self.current_limit = self._per_level(
            "current_limit_seats",
            "current derived number of execution seats available to each priority level",
        )
        self.demand_high_watermark = self._per_level(
            "demand_seats_high_watermark",
            "High watermark, over last adjustment period, of demand_seats",
        )
        self.demand_average = self._per_level(
            "demand_seats_average",
            "Time-weighted average, over last adjustment period, of demand_seats",
        )
        self.demand_stdev = self._per_level(
            "demand_seats_stdev",
            "Time-weighted standard deviation, over last adjustment period, of demand_seats",
        )
        self.demand_smoothed = self._per_level("demand_seats_smoothed", "Smoothed seat demands")
        self.target = self._per_level("target_seats", "Seat allocation targets")
        self.fair_fraction = Gauge(
            _PREFIX + "seat_fair_frac",
            "Fair fraction of server's concurrency to allocate to each priority level that "
            "can use it",
            registry=r,
        )

    def _per_level(self, name: str, documentation: str) -> Gauge:
        return Gauge(_PREFIX + name, documentation, [_LEVEL], registry=self.registry)

    def forget_level(self, level: str) -> None:
        """Drop a removed level's per-level series, so it stops being reported."""
        for gauge in (
            self.nominal_limit,
            self.lower_limit,
            self.upper_limit,
            self.current_limit,
            self.demand_high_watermark,
            self.demand_average,
            self.demand_stdev,
            self.demand_smoothed,
            self.target,
        ):
            try:
                gauge.remove(level)
            except KeyError:
                pass

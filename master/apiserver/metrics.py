"""The API server's Prometheus metrics, on a registry of its own per server instance.

A registry per instance lets several API servers run in one test process without
their series colliding.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ApiServerMetrics:
    """Requests, their latency, open watches, the watch cache and etcd latency."""

    def __init__(
        self, registry: CollectorRegistry | None = None, resources: Iterable[str] = ()
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "tugboat_apiserver_requests_total",
            "API requests by verb, resource and gRPC status code.",
            ["verb", "resource", "code"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "tugboat_apiserver_request_duration_seconds",
            "Latency of unary API requests (for watches: until the watch was set up).",
            ["verb", "resource"],
            registry=self.registry,
        )
        self.watchers = Gauge(
            "tugboat_apiserver_watchers",
            "Watches open now.",
            ["resource"],
            registry=self.registry,
        )
        # Every served resource starts at 0, so "no watches here" is a 0 and not a missing
        # series: a dashboard filtered to one API server shows a line, not "No data".
        for resource in resources:
            self.watchers.labels(resource).set(0)
        self.inflight = Gauge(
            "tugboat_apiserver_inflight_requests",
            "Ordinary (capped) requests being served now (inflight.py).",
            registry=self.registry,
        )
        self.dropped_requests = Counter(
            "tugboat_apiserver_dropped_requests_total",
            "Requests refused with TooManyRequests because the ordinary lane was full.",
            ["verb"],
            registry=self.registry,
        )
        # The watch cache (cacher.py), in kube-apiserver's names where it has them.
        self.watch_cache_received = Counter(
            "apiserver_watch_cache_events_received_total",
            "Changes the watch cache received from etcd, by resource.",
            ["resource"],
            registry=self.registry,
        )
        self.watch_events = Counter(
            "apiserver_watch_events_total",
            "Events the watch cache fanned out to watchers, by resource.",
            ["resource"],
            registry=self.registry,
        )
        self.terminated_watchers = Counter(
            "apiserver_terminated_watchers_total",
            "Watchers ended for falling a whole queue behind, by resource.",
            ["resource"],
            registry=self.registry,
        )
        self.watch_cache_objects = Gauge(
            "tugboat_apiserver_watch_cache_objects",
            "Objects held in the watch cache's store, by resource.",
            ["resource"],
            registry=self.registry,
        )
        self.etcd_duration = Histogram(
            "tugboat_apiserver_etcd_request_duration_seconds",
            "Latency of etcd requests by operation.",
            ["operation"],
            registry=self.registry,
        )

    def observe_etcd(self, operation: str, seconds: float) -> None:
        """Record one etcd request (the Etcd observer hook)."""
        self.etcd_duration.labels(operation).observe(seconds)

"""A cap on the requests an API server works on at once, with a lane that is never capped.

An API server on two cores that takes every request at once falls behind on all of them:
with 300 simulated nodes, lease renewals queued behind lists and creates until nodes were
late, were marked NotReady and fenced their pods. kube-apiserver first answered with
`--max-requests-inflight` (HTTP 429 beyond it), and now with API Priority and Fairness,
whose `leader-election` and `node-high` levels keep renewals flowing when everything
else is throttled. This is the smallest form of both:

- at most `limit` ordinary requests run at once; one more is refused at once with
  TooManyRequests (gRPC RESOURCE_EXHAUSTED with a `retry-after` trailer, HTTP 429 with
  Retry-After), which costs the server almost nothing, and clients retry it after the
  pause on another server;
- Leases (every node's heartbeat, and the elected components' mirrors) are exempt:
  their lane has no cap, so saturation never makes a healthy node look dead;
- watches, logs, exec and port-forwards are long-running and not counted, as in
  kube-apiserver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from client import errors
from master.apiserver.metrics import ApiServerMetrics

EXEMPT_RESOURCES = frozenset({"leases"})
"""Whose requests are never refused for load: node heartbeats and leader election."""
LONG_RUNNING = frozenset({"watch", "log", "exec", "attach", "portforward"})
RETRY_AFTER_SECONDS = 1


class InflightLimiter:
    """Counts the ordinary requests in flight and refuses those beyond `limit` (0: none)."""

    def __init__(self, limit: int, metrics: ApiServerMetrics | None = None) -> None:
        self.limit = limit
        self.inflight = 0
        self._metrics = metrics

    @contextmanager
    def admit(self, verb: str, resource: str) -> Iterator[None]:
        """Run the request inside; TooManyRequests when the ordinary lane is full."""
        if self.limit <= 0 or resource in EXEMPT_RESOURCES or verb in LONG_RUNNING:
            yield
            return
        if self.inflight >= self.limit:
            if self._metrics is not None:
                self._metrics.dropped_requests.labels(verb).inc()
            raise errors.TooManyRequests(
                "Too many requests, please try again later.", retry_after=RETRY_AFTER_SECONDS
            )
        self.inflight += 1
        if self._metrics is not None:
            self._metrics.inflight.set(self.inflight)
        try:
            yield
        finally:
            self.inflight -= 1
            if self._metrics is not None:
                self._metrics.inflight.set(self.inflight)

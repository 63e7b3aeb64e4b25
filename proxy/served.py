"""One service port while it is served: its balancer, metric children and open connections.

Listeners hold a `ServedPort`, not a copy of its settings, so a sync that changes the
endpoints only swaps the balancer's list and every listener of the port (ClusterIP and
nodePort) sees it at once.
"""

from __future__ import annotations

from typing import Protocol

from proxy import metrics
from proxy.balancer import Balancer

__all__ = ["Flow", "ServedPort"]


class Flow(Protocol):
    """An open connection or UDP session: it reports its byte counts when asked."""

    def flush_counts(self) -> None: ...


class ServedPort:
    """Runtime state of one service port."""

    def __init__(self, key: str, balancer: Balancer, *, connect_timeout: float = 2.0) -> None:
        self.key = key
        self.balancer = balancer
        self.connect_timeout = connect_timeout
        self.connections = metrics.CONNECTIONS.labels(key)
        self.active = metrics.ACTIVE_CONNECTIONS.labels(key)
        self.bytes_in = metrics.BYTES.labels(key, "in")
        self.bytes_out = metrics.BYTES.labels(key, "out")
        self.errors = metrics.ENDPOINT_ERRORS.labels(key)
        self.flows: set[Flow] = set()

    def flush_counts(self) -> None:
        """Move the byte counts of open flows into the metrics (they count locally)."""
        for flow in list(self.flows):
            flow.flush_counts()

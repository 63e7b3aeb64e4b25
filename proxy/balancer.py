"""Choosing an endpoint for a new connection: round-robin or least-connections.

One `Balancer` per service port lives as long as the port is served; a sync only swaps
its endpoint list, so the round-robin position, the open-connection counts and the
ClientIP affinity table survive endpoint changes. A removed endpoint is simply no longer
chosen: connections already open to it are left to finish (drained), never cut.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from proxy.table import Backend

__all__ = ["LEAST_CONNECTIONS", "MODES", "ROUND_ROBIN", "Balancer"]

ROUND_ROBIN = "round-robin"
LEAST_CONNECTIONS = "least-connections"
MODES = (ROUND_ROBIN, LEAST_CONNECTIONS)

_MAX_AFFINITY_ENTRIES = 65536
"""Bound on remembered client IPs; the oldest are forgotten first beyond it."""


class Balancer:
    """Picks endpoints for one service port."""

    def __init__(
        self,
        mode: str = ROUND_ROBIN,
        affinity_timeout: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown balancing mode {mode!r} (expected one of {MODES})")
        self.mode = mode
        self.affinity_timeout = affinity_timeout
        self._clock = clock
        self._backends: tuple[Backend, ...] = ()
        self._next = 0
        self._active: dict[Backend, int] = {}
        self._affinity: dict[str, tuple[Backend, float]] = {}

    @property
    def backends(self) -> tuple[Backend, ...]:
        """The endpoints new connections may go to."""
        return self._backends

    def update(self, backends: Iterable[Backend], affinity_timeout: float | None) -> None:
        """Replace the endpoint list; affinity to a removed endpoint is forgotten."""
        fresh = tuple(backends)
        if fresh != self._backends:
            self._backends = fresh
            self._next = self._next % len(fresh) if fresh else 0
            alive = set(fresh)
            self._affinity = {c: v for c, v in self._affinity.items() if v[0] in alive}
        if affinity_timeout != self.affinity_timeout:
            self.affinity_timeout = affinity_timeout
            self._affinity.clear()

    def pick(
        self, client_ip: str = "", exclude: frozenset[Backend] = frozenset()
    ) -> Backend | None:
        """The endpoint for a new connection from `client_ip`, or None when there is none."""
        candidates: tuple[Backend, ...] = (
            tuple(b for b in self._backends if b not in exclude) if exclude else self._backends
        )
        if not candidates:
            return None
        now = self._clock()
        if self.affinity_timeout is not None and client_ip:
            held = self._affinity.get(client_ip)
            if held is not None and now - held[1] < self.affinity_timeout and held[0] in candidates:
                self._affinity[client_ip] = (held[0], now)
                return held[0]
        if self.mode == LEAST_CONNECTIONS:
            # Ties go round-robin, so an idle service still spreads its connections.
            start = self._next % len(candidates)
            order = [*candidates[start:], *candidates[:start]]
            chosen: Backend = min(order, key=lambda b: self._active.get(b, 0))
            self._next = (candidates.index(chosen) + 1) % len(candidates)
        else:
            chosen = candidates[self._next % len(candidates)]
            self._next = (self._next + 1) % len(candidates)
        if self.affinity_timeout is not None and client_ip:
            if len(self._affinity) >= _MAX_AFFINITY_ENTRIES:
                self._affinity.pop(next(iter(self._affinity)))
            self._affinity[client_ip] = (chosen, now)
        return chosen

    def opened(self, backend: Backend) -> None:
        """Count a connection to `backend` (least-connections reads the counts)."""
        self._active[backend] = self._active.get(backend, 0) + 1

    def closed(self, backend: Backend) -> None:
        """Uncount a connection to `backend`."""
        left = self._active.get(backend, 0) - 1
        if left > 0:
            self._active[backend] = left
        else:
            self._active.pop(backend, None)

    def active(self, backend: Backend) -> int:
        """Connections open to `backend` now."""
        return self._active.get(backend, 0)

"""Kubernetes' per-container back-off for restarts and image pulls.

The first retry is immediate; each further one waits twice as long as the last, from
`initial` up to `maximum`. An entry untouched for twice the maximum is forgotten, so a
container that ran well for a long time starts again from `initial`.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Backoff:
    """Delays keyed by e.g. (pod uid, container name)."""

    def __init__(
        self, initial: float, maximum: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not 0 < initial <= maximum:
            raise ValueError(f"back-off needs 0 < initial ({initial}) <= maximum ({maximum})")
        self.initial = initial
        self.maximum = maximum
        self._clock = clock
        self._entries: dict[object, tuple[float, float]] = {}
        """key -> (current delay, when it was last bumped)."""

    def _entry(self, key: object) -> tuple[float, float] | None:
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[1] > 2 * self.maximum:
            del self._entries[key]
            return None
        return entry

    def remaining(self, key: object) -> float:
        """Seconds until the next attempt may be made (0 when it may be made now)."""
        entry = self._entry(key)
        if entry is None:
            return 0.0
        delay, since = entry
        return max(0.0, since + delay - self._clock())

    def delay(self, key: object) -> float:
        """The current delay of the key (0 when it has none)."""
        entry = self._entry(key)
        return 0.0 if entry is None else entry[0]

    def next(self, key: object) -> None:
        """Record an attempt now: the following one waits `initial`, then twice as long."""
        entry = self._entry(key)
        delay = self.initial if entry is None else min(entry[0] * 2, self.maximum)
        self._entries[key] = (delay, self._clock())

    def reset(self, key: object) -> None:
        """Forget the key."""
        self._entries.pop(key, None)

    def forget_prefix(self, first: object) -> None:
        """Forget every tuple key whose first element is `first` (a pod's uid)."""
        for k in [k for k in self._entries if isinstance(k, tuple) and k and k[0] == first]:
            del self._entries[k]

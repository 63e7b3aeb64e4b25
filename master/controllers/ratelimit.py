"""A token bucket, for evictions per second (Kubernetes' flowcontrol.NewTokenBucketRateLimiter)."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; rate 0 never gives one."""

    def __init__(
        self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = clock()

    def set_rate(self, rate: float) -> None:
        """Change the rate (tokens already saved are kept)."""
        self._refill()
        self.rate = rate

    def try_take(self) -> bool:
        """Take one token if there is one."""
        if self.rate <= 0:
            return False
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _refill(self) -> None:
        now = self._clock()
        if self.rate > 0:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now

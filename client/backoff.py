"""Capped exponential back-off with full jitter, shared by the client, informers and queues.

Full jitter (a random delay between 0 and the capped exponential) spreads the retries of
many clients that failed at the same moment, such as every informer of a cluster when
one API server dies, instead of having them all hit the next one in lock-step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Delays that double from `base` up to `cap` seconds; `reset()` after a success."""

    base: float = 0.1
    """The first delay's upper bound, in seconds."""
    cap: float = 5.0
    """No delay exceeds this, in seconds."""
    jitter: bool = True
    """Draw each delay uniformly from [0, bound] instead of using the bound itself."""
    attempts: int = field(default=0, init=False)
    """Delays handed out since the last reset."""

    def bound(self) -> float:
        """The upper bound of the next delay, without consuming it."""
        # Clamp the exponent so a long outage cannot overflow the float.
        return float(min(self.cap, self.base * (2 ** min(self.attempts, 62))))

    def next(self) -> float:
        """The next delay in seconds; each call doubles the following one's bound."""
        upper = self.bound()
        self.attempts += 1
        return random.uniform(0.0, upper) if self.jitter else upper

    def reset(self) -> None:
        """Start again from `base`."""
        self.attempts = 0

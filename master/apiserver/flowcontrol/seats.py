"""How many seats each priority level may use: nominal shares, then borrowing.

Kubernetes 1.32's arithmetic, so that the same configuration gives the same limits:

- nominal = ceil(server limit * shares / sum of every level's shares), the exempt
  level's shares included (0 for the mandatory one); ceil means the nominal limits may
  sum to a little more than the server's limit;
- lower = nominal - round(nominal * lendablePercent / 100): what the level keeps even
  when others are busier;
- upper = nominal + round(nominal * borrowingLimitPercent / 100), or + the server's
  limit when there is no borrowing limit.

Every rounding is Go's (`go_round`: halves away from zero, as math.Round), not
Python's `round` (halves to even), wherever Kubernetes calls math.Round: a node-high
level of 98 seats lending 25% lends 24.5 seats, which Kubernetes rounds to 25.

Every adjustment period (10 s in kube-apiserver) the current limits are recomputed from
each level's seat demand (seats executing plus seats waiting), integrated over the
period: a level keeps at least the lesser of its nominal limit and its demand's high
watermark (never below its lower bound), and the sum of the nominal limits is shared in
proportion to the smoothed demands, within the bounds (`allocate`). Kubernetes finds
that proportion by walking the sorted bounds; this finds it by bisection, since the
allocated sum only grows with it. A level's limit thus rises while another level lends
its unused seats, and falls back as soon as the lender's demand returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from master.apiserver.flowcontrol.model import PriorityLevel

ADJUSTMENT_PERIOD = 10.0
"""Seconds between recomputations of the current limits, as in kube-apiserver."""
SMOOTHING = 0.977
"""How much of the previous smoothed demand survives a period (Kubernetes' coefficient):
demand is believed quickly when it rises and forgotten slowly when it falls."""
MIN_TARGET = 0.001
"""Stands in for a zero target, so that every level has a proportion."""


def go_round(value: float) -> int:
    """Go's math.Round: the nearest integer, halves away from zero (Python's `round`
    sends them to the even neighbour: round(24.5) is 24, Go's 25)."""
    whole = math.trunc(value)
    # value - whole is exact in binary floating point, so no half is lost to rounding
    # (as it would be in floor(value + 0.5) for 0.49999999999999994).
    if abs(value - whole) >= 0.5:
        whole += 1 if value > 0 else -1
    return whole


@dataclass(frozen=True)
class SeatLimits:
    nominal: int
    lower: int
    upper: int


def configured_limits(server_limit: int, levels: Sequence[PriorityLevel]) -> dict[str, SeatLimits]:
    """Each level's nominal, lower and upper limits under a server limit."""
    share_sum = sum(level.nominal_concurrency_shares for level in levels)
    limits: dict[str, SeatLimits] = {}
    for level in levels:
        # Kubernetes' float64 arithmetic, in its order.
        nominal = (
            math.ceil(float(server_limit) * float(level.nominal_concurrency_shares) / share_sum)
            if share_sum > 0
            else 0
        )
        lendable = go_round(float(nominal) * float(level.lendable_percent) / 100)
        if level.borrowing_limit_percent is None or level.exempt:
            borrowable = server_limit
        else:
            borrowable = go_round(float(nominal) * float(level.borrowing_limit_percent) / 100)
        limits[level.name] = SeatLimits(nominal, nominal - lendable, nominal + borrowable)
    return limits


@dataclass(frozen=True)
class Demand:
    """A level's seat demand over one period."""

    average: float
    deviation: float
    high_watermark: int
    duration: float


class DemandIntegrator:
    """Time-weighted average, deviation and maximum of a value that changes in steps."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._value = 0.0
        self._reset(clock())

    def _reset(self, now: float) -> None:
        self._start = self._last = now
        self._sum = self._sum_squares = 0.0
        self._max = self._value

    def _accumulate(self, now: float) -> None:
        elapsed = now - self._last
        self._sum += self._value * elapsed
        self._sum_squares += self._value * self._value * elapsed
        self._last = now

    def set(self, value: float) -> None:
        self._accumulate(self._clock())
        self._value = value
        self._max = max(self._max, value)

    def reset(self) -> Demand:
        """The period's statistics; a new period starts now, at the current value."""
        now = self._clock()
        self._accumulate(now)
        duration = now - self._start
        if duration > 0:
            average = self._sum / duration
            variance = max(0.0, self._sum_squares / duration - average * average)
            demand = Demand(average, math.sqrt(variance), go_round(self._max), duration)
        else:
            demand = Demand(0.0, 0.0, go_round(self._max), 0.0)
        self._reset(now)
        return demand


def smoothed(previous: float, demand: Demand) -> float:
    """The demand a level is believed to have: its envelope (average + deviation) when
    that rose, else a slow decay towards it."""
    if demand.duration <= 0:
        return previous
    envelope = demand.average + demand.deviation
    return max(envelope, SMOOTHING * previous + (1 - SMOOTHING) * envelope)


@dataclass(frozen=True)
class AllocationItem:
    target: float
    lower: float
    upper: float


def allocate(required_sum: float, items: Sequence[AllocationItem]) -> tuple[list[float], float]:
    """Allocations summing to `required_sum`, each clamp(fair * target, lower, upper) for
    one `fair` proportion, and that proportion. Bounds that cannot reach the sum give
    all lower (or all upper) bounds."""
    targets = [max(item.target, MIN_TARGET) for item in items]

    def allocations(fair: float) -> list[float]:
        return [
            min(item.upper, max(item.lower, fair * target))
            for item, target in zip(items, targets, strict=True)
        ]

    if not items or required_sum <= 0:
        return [0.0] * len(items), 0.0
    if sum(item.lower for item in items) >= required_sum:
        return [item.lower for item in items], min(
            item.lower / t for item, t in zip(items, targets, strict=True)
        )
    if sum(item.upper for item in items) <= required_sum:
        return [item.upper for item in items], max(
            item.upper / t for item, t in zip(items, targets, strict=True)
        )
    low = 0.0
    high = max(item.upper / t for item, t in zip(items, targets, strict=True))
    for _ in range(100):
        middle = (low + high) / 2
        if sum(allocations(middle)) < required_sum:
            low = middle
        else:
            high = middle
    return allocations(high), high


@dataclass(frozen=True)
class LevelDemand:
    """What the adjustment needs to know of one level."""

    limits: SeatLimits
    exempt: bool
    high_watermark: int
    smoothed: float


@dataclass(frozen=True)
class Adjustment:
    current: dict[str, int]
    targets: dict[str, float]
    fair_fraction: float


def current_limits(nominal_sum: int, levels: Mapping[str, LevelDemand]) -> Adjustment:
    """Every level's current limit for the next period (Kubernetes' updateBorrowing).

    The exempt level is not limited, but the seats it used count against the others:
    when what remains of the nominal sum cannot give every level its floor, they get
    their lower bounds or a part of the way to their floors; otherwise, as in
    Kubernetes, the whole nominal sum is shared among them."""
    remaining = nominal_sum
    floors: dict[str, int] = {}
    current: dict[str, int] = {}
    targets: dict[str, float] = {}
    for name, level in levels.items():
        if level.exempt:
            current[name] = max(level.limits.lower, level.high_watermark)
            remaining -= current[name]
        else:
            floors[name] = max(level.limits.lower, min(level.limits.nominal, level.high_watermark))
            targets[name] = max(float(floors[name]), level.smoothed)
    limited = [name for name in levels if name in floors]
    lower_sum = sum(levels[name].limits.lower for name in limited)
    floor_sum = sum(floors.values())
    fair = 0.0
    if remaining <= lower_sum:
        for name in limited:
            current[name] = levels[name].limits.lower
    elif remaining <= floor_sum:
        # Not even the floors fit: each level gets its lower bound plus the same
        # fraction of the way to its floor.
        fraction = (remaining - lower_sum) / (floor_sum - lower_sum)
        for name in limited:
            lower = levels[name].limits.lower
            current[name] = lower + go_round((floors[name] - lower) * fraction)
    else:
        items = [
            AllocationItem(targets[name], floors[name], levels[name].limits.upper)
            for name in limited
        ]
        allocations, fair = allocate(nominal_sum, items)
        for name, seats in zip(limited, allocations, strict=True):
            current[name] = go_round(seats)
    return Adjustment(current, targets, fair)

"""Ages and durations the way kubectl prints them (`5s`, `3m2s`, `2d`).

A port of Kubernetes' `duration.HumanDuration`: precise while short, coarser as it grows,
so that an AGE column stays narrow.
"""

from __future__ import annotations

from datetime import UTC, datetime

from client.timestamps import try_parse


def human_duration(seconds: float) -> str:
    """kubectl's rendering of a duration in seconds."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return _units(minutes, "m", s % 60, "s")
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return _units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _units(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return _units(hours // 24 // 365, "y", (hours // 24) % 365, "d")
    return f"{hours // 24 // 365}y"


def _units(whole: int, unit: str, rest: int, rest_unit: str) -> str:
    """`3m2s`, or `3m` when the smaller unit's count is zero, as HumanDuration writes it."""
    return f"{whole}{unit}" if rest == 0 else f"{whole}{unit}{rest}{rest_unit}"


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime; None when empty or unreadable."""
    return try_parse(text)


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def age(timestamp: str, at: datetime | None = None) -> str:
    """The age of a timestamp as kubectl prints it; `<unknown>` when there is none."""
    when = parse_time(timestamp)
    if when is None:
        return "<unknown>"
    return human_duration(((at or now()) - when).total_seconds())


def since(start: str, end: str = "", at: datetime | None = None) -> str:
    """The duration from `start` to `end` (or to now); "" when start is unknown."""
    begin = parse_time(start)
    if begin is None:
        return ""
    finish = parse_time(end) or at or now()
    return human_duration((finish - begin).total_seconds())

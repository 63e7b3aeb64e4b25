"""Kubernetes timestamps: RFC 3339 in UTC, written and read in one place.

Objects carry times as text (`creationTimestamp: "2026-12-02T17:56:00Z"`); Leases and
conditions that need finer times use microseconds (`...:00.123456Z`, Kubernetes'
MicroTime). Every component formats and parses them here, so a stamp written by one is
always read back the same way by another, whatever precision it was written with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["format_time", "from_epoch", "now", "now_micro", "parse_time", "to_epoch", "try_parse"]

_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
_MICROSECONDS = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime, *, micro: bool = False) -> str:
    """`moment` in UTC as Kubernetes writes it: to the second, or to the microsecond."""
    return moment.astimezone(UTC).strftime(_MICROSECONDS if micro else _SECONDS)


def from_epoch(seconds: float, *, micro: bool = False) -> str:
    """Seconds since the epoch as a timestamp."""
    return format_time(datetime.fromtimestamp(seconds, UTC), micro=micro)


def now(offset_seconds: float = 0) -> str:
    """The time `offset_seconds` from now, to the second (Kubernetes' Time)."""
    return format_time(datetime.now(UTC) + timedelta(seconds=offset_seconds))


def now_micro() -> str:
    """The time now, to the microsecond (Kubernetes' MicroTime)."""
    return format_time(datetime.now(UTC), micro=True)


def parse_time(text: str) -> datetime:
    """A timestamp of either precision (or with an explicit offset) as an aware datetime.

    ValueError when `text` is not RFC 3339.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: Kubernetes timestamps are RFC 3339")
    return moment


def to_epoch(text: str) -> float:
    """A timestamp as seconds since the epoch."""
    return parse_time(text).timestamp()


def try_parse(text: str) -> datetime | None:
    """Like parse_time, but None when `text` is empty or not a timestamp: for readers that
    show or compare times and must not fail on one that is missing or malformed."""
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None


def try_epoch(text: str) -> float | None:
    """Seconds since the epoch of a timestamp; None when it is empty or malformed."""
    moment = try_parse(text)
    return None if moment is None else moment.timestamp()

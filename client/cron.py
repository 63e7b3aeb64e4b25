"""Cron schedules as a CronJob's `spec.schedule` spells them, and the times they name.

Kubernetes parses schedules with robfig/cron's standard parser, so this module accepts
what it accepts and nothing else: five fields (minute, hour, day of month, month, day of
week) of `*`, `?`, numbers, names (JAN-DEC, SUN-SAT), ranges, lists and steps, or one
of the macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
`@hourly`. As in cron, when both day fields are restricted a day matching either one
fires; when one of them starts with `*` both must match. A time zone inside the schedule
(`TZ=`, `CRON_TZ=`) is refused as Kubernetes refuses it: `spec.timeZone` says that.

Times are searched field by field in the schedule's own zone, not minute by minute, so
the next (or latest) time of "0 0 29 2 *" costs a few hundred steps, not a million. The
search is bounded: a schedule that names no real date (30 February) has no next time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["CronError", "Schedule", "parse", "zone"]

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, {n: i + 1 for i, n in enumerate(_MONTHS)}),
    _Field("day of week", 0, 6, {n: i for i, n in enumerate(_DAYS)}),
)
_SEARCH_YEARS = 5
"""How far ahead (or back) a time is sought before the schedule is taken to name none."""


class CronError(ValueError):
    """A schedule that cannot be parsed; the message says which part and why."""


def zone(name: str) -> tzinfo:
    """The IANA time zone `name` ("" is UTC, as the controller manager's own clock)."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: the name is looked up as a file, so a too-long name or a directory
        # ("America") fails in the file system rather than as an unknown zone.
        raise CronError(f"unknown time zone {name!r}") from None


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: the allowed values of each field, and how days combine."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    """Day of month or day of week began with `*`: a day must match both, not either."""

    def _day_matches(self, moment: datetime) -> bool:
        in_month = moment.day in self.days
        in_week = (moment.isoweekday() % 7) in self.weekdays
        return (in_month and in_week) if self.any_day else (in_month or in_week)

    def next_after(self, moment: datetime, where: tzinfo = UTC) -> datetime | None:
        """The first time after `moment` (aware) that the schedule names in zone
        `where`, in UTC; None when it names none within the search bound."""
        wall = moment.astimezone(where).replace(second=0, microsecond=0, tzinfo=None)
        wall += timedelta(minutes=1)
        limit = wall.year + _SEARCH_YEARS
        while wall.year <= limit:
            if wall.month not in self.months:
                wall = _first_of_next_month(wall)
            elif not self._day_matches(wall):
                wall = (wall + timedelta(days=1)).replace(hour=0, minute=0)
            elif wall.hour not in self.hours:
                wall = (wall + timedelta(hours=1)).replace(minute=0)
            elif wall.minute not in self.minutes:
                wall += timedelta(minutes=1)
            else:
                return wall.replace(tzinfo=where).astimezone(UTC)
        return None

    def latest_at_or_before(self, moment: datetime, where: tzinfo = UTC) -> datetime | None:
        """The last time at or before `moment` that the schedule names in zone `where`,
        in UTC; None when it names none within the search bound."""
        wall = moment.astimezone(where).replace(second=0, microsecond=0, tzinfo=None)
        limit = wall.year - _SEARCH_YEARS
        while wall.year >= limit:
            if wall.month not in self.months:
                wall = wall.replace(day=1, hour=0, minute=0) - timedelta(minutes=1)
            elif not self._day_matches(wall):
                wall = wall.replace(hour=0, minute=0) - timedelta(minutes=1)
            elif wall.hour not in self.hours:
                wall = wall.replace(minute=0) - timedelta(minutes=1)
            elif wall.minute not in self.minutes:
                wall -= timedelta(minutes=1)
            else:
                return wall.replace(tzinfo=where).astimezone(UTC)
        return None


def _first_of_next_month(wall: datetime) -> datetime:
    year, month = (wall.year + 1, 1) if wall.month == 12 else (wall.year, wall.month + 1)
    return wall.replace(year=year, month=month, day=1, hour=0, minute=0)


def parse(text: str) -> Schedule:
    """The schedule `text` spells; CronError naming the offending part otherwise."""
    spelled = text.strip()
    if spelled.startswith(("TZ=", "CRON_TZ=")):
        raise CronError("a time zone cannot be given in the schedule: use spec.timeZone")
    if spelled.startswith("@"):
        if spelled not in _MACROS:
            raise CronError(f"unknown macro {spelled!r} (use one of {', '.join(_MACROS)})")
        spelled = _MACROS[spelled]
    parts = spelled.split()
    if len(parts) != len(_FIELDS):
        raise CronError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), found {len(parts)}"
        )
    values = [_parse_field(part, field) for part, field in zip(parts, _FIELDS, strict=True)]
    return Schedule(
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=values[4],
        any_day=parts[2].startswith(("*", "?")) or parts[4].startswith(("*", "?")),
    )


def _parse_field(part: str, field: _Field) -> frozenset[int]:
    allowed: set[int] = set()
    for item in part.split(","):
        allowed |= _parse_item(item, field)
    return frozenset(allowed)


def _parse_item(item: str, field: _Field) -> set[int]:
    span, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronError(
                f"{field.name}: step {step_text!r} in {item!r} is not a positive number"
            )
        step = int(step_text)
    if span in ("*", "?"):
        low, high = field.low, field.high
    else:
        first, dash, last = span.partition("-")
        low = _value(first, field, item)
        # "5/15" means from 5 to the end, as robfig/cron reads it.
        high = _value(last, field, item) if dash else (field.high if slash else low)
        if low > high:
            raise CronError(f"{field.name}: range {item!r} runs backwards")
    return set(range(low, high + 1, step))


def _value(text: str, field: _Field, item: str) -> int:
    named = field.names.get(text.upper())
    if named is not None:
        return named
    if not text.isdigit():
        raise CronError(f"{field.name}: {text!r} in {item!r} is not a number")
    value = int(text)
    if not field.low <= value <= field.high:
        raise CronError(f"{field.name}: {value} is out of range {field.low}-{field.high}")
    return value

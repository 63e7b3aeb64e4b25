"""Command-line flag types shared by every daemon and by `tug`, and `from_flags`.

Each is an argparse `type`: it turns the text into a value or raises ArgumentTypeError
with a message that says what was expected, so every bad flag fails the same way, naming
itself. Durations take a plain number of seconds or a duration as kubectl and Go spell it
(`500ms`, `30s`, `5m`, `1h30m`), since users type `--timeout 1m` out of habit.

Every daemon's settings are a dataclass whose fields mostly bear the names of its flags;
`from_flags` fills those from the parsed flags, so a main spells out only the fields that
differ from their flag (checked, renamed, grouped), not one `x=a.x` line per flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "duration",
    "endpoint_list",
    "from_flags",
    "positive_seconds",
    "seconds",
    "whole_seconds",
]

S = TypeVar("S", bound="DataclassInstance")

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def endpoint_list(flag: str) -> Callable[[str], list[str]]:
    """An argparse type for `host:port[,host:port...]`; errors name `flag`."""

    def parse(text: str) -> list[str]:
        endpoints = [e.strip() for e in text.split(",") if e.strip()]
        if not endpoints:
            raise argparse.ArgumentTypeError(f"{flag}: at least one host:port is needed")
        for e in endpoints:
            host, _, port = e.rpartition(":")
            if not host or not port.isdigit():
                raise argparse.ArgumentTypeError(f"{flag}: {e!r} is not host:port")
        return endpoints

    return parse


def duration(text: str) -> float:
    """Seconds from `12`, `1.5`, or a Go duration (`300ms`, `30s`, `5m`, `1h30m`).

    ValueError when `text` is neither; the sign is allowed here and judged by the caller.
    """
    body = text.strip()
    sign = -1.0 if body.startswith("-") else 1.0
    body = body.lstrip("+-")
    try:
        return sign * float(body)
    except ValueError:
        pass
    if not body or _PART.sub("", body):
        raise ValueError(f"{text!r} is not a duration")
    return sign * sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(body))


def _seconds(text: str, *, minimum: float, strict: bool, what: str) -> float:
    try:
        value = duration(text)
    except ValueError:
        value = None
    if value is None or value < minimum or (strict and value == minimum):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {what} (or a duration such as 30s, 5m, 1h)"
        )
    return value


def seconds(text: str) -> float:
    """A duration of zero or more seconds (fractions and `30s`-style units allowed)."""
    return _seconds(text, minimum=0.0, strict=False, what="a number of seconds >= 0")


def positive_seconds(text: str) -> float:
    """A duration of more than zero seconds."""
    return _seconds(text, minimum=0.0, strict=True, what="a number of seconds > 0")


def whole_seconds(text: str) -> int:
    """A whole number of seconds, zero or more (`300` or `5m`)."""
    value = seconds(text)
    if value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds >= 0")
    return int(value)


def from_flags(settings: type[S], args: argparse.Namespace | DataclassInstance, **given: Any) -> S:
    """A `settings` dataclass: each field from the flag of the same name, or from `given`.

    Fields that are neither keep their defaults; `given` wins over a flag, and names the
    fields a main computes (validated, renamed or grouped values). `args` may also be a
    main's checked options (a dataclass), whose fields then stand for the flags.
    """
    flags = vars(args)
    taken = {
        f.name: flags[f.name]
        for f in dataclasses.fields(settings)
        if f.init and f.name in flags and f.name not in given
    }
    return settings(**taken, **given)

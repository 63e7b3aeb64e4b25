"""Command-line flag types shared by every daemon."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["endpoint_list", "seconds"]


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


def seconds(text: str) -> float:
    """An argparse type for a duration in seconds, zero or more (fractions allowed)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value

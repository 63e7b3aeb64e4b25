"""The one exception a command raises to end with `error: ...` on stderr and exit code 1."""

from __future__ import annotations


class CliError(Exception):
    """A user-facing failure: the message is printed after `error: `."""

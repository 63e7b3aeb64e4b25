"""Running `tug` in-process, capturing what it prints."""

from __future__ import annotations

import io
from dataclasses import dataclass

from cli.main import run


@dataclass
class Result:
    """What one `tug` run printed and returned."""

    code: int
    out: str
    err: str


async def run_tug(*argv: str, stdin: str = "") -> Result:
    """`tug ARGV...` with its own streams; the environment decides the config."""
    out, err = io.StringIO(), io.StringIO()
    code = await run(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())

"""The `tug` command: argument parsing and the one place errors become `error: ...`.

`main(argv)` is the console script; `run(argv, stdout=..., stderr=...)` is the same CLI
as a coroutine, which tests call in-process with their own streams.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from cli.cluster import commands as cluster
from cli.commands import (
    apply,
    auth,
    config,
    create,
    delete,
    describe,
    get,
    info,
    nodeagent,
    nodes,
    port_forward,
    rollout,
    scale,
    set_image,
    top,
)
from cli.errors import CliError
from cli.invocation import Invocation
from client import errors
from client.flags import seconds
from client.logs import configure_logging

COMMANDS = (
    apply,
    auth,
    get,
    describe,
    delete,
    create,
    info,
    config,
    cluster,
    nodeagent,
    nodes,
    port_forward,
    rollout,
    scale,
    set_image,
    top,
)
"""Each module adds its commands with `register(subparsers, common)`."""

class _Parser(argparse.ArgumentParser):
    """Usage errors as `error: ...` with exit code 1, like every other failure."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{message}\nSee '{self.prog} --help' for usage.")


def common_flags() -> argparse.ArgumentParser:
    """Flags every command takes, before or after the command name."""
    common = _Parser(add_help=False)
    sup = argparse.SUPPRESS
    common.add_argument("-s", "--server", default=sup, help="host:port[,host:port...]")
    common.add_argument("--context", default=sup, help="the context of the config to use")
    common.add_argument("-n", "--namespace", default=sup)
    common.add_argument(
        "--request-timeout", type=seconds, default=sup, help="per request (and for -w)"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The whole `tug` argument parser."""
    common = common_flags()
    parser = _Parser(
        prog="tug",
        parents=[common],
        description="Tugboat's command line: kubectl's verbs for a small cluster.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.register(sub, common)
    return parser


def _unreachable(inv: Invocation, error: errors.ApiError) -> str:
    try:
        names = ",".join(inv.endpoints())
    except CliError:
        names = "?"
    return f"cannot reach any API server ({names}): {error.message}"


async def run(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command; the exit code (0 success, 1 failure)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except CliError as e:
        err.write(f"error: {e}\n")
        return 1
    except SystemExit as e:  # --help
        return int(e.code or 0)
    if not getattr(args, "func", None):
        build_parser().print_help(out)
        return 1
    inv = Invocation(args, stdout=out, stderr=err, stdin=stdin or sys.stdin)
    try:
        code: int = await args.func(inv)
    except CliError as e:
        inv.err(f"error: {e}")
        return 1
    except errors.Unavailable as e:
        inv.err(f"error: {_unreachable(inv, e)}")
        return 1
    except errors.ApiError as e:
        inv.err(f"error: {e.message}")
        return 1
    finally:
        out.flush()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """The console script."""
    configure_logging("tug", level=os.environ.get("TUG_LOG_LEVEL", "warning"))
    try:
        return asyncio.run(run(argv))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The `tug` command: argument parsing and the one place errors become `error: ...`.

`main(argv)` is the console script; `run(argv, stdout=..., stderr=...)` is the same CLI
as a coroutine, which tests call in-process with their own streams.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from cli.errors import CliError
from client.flags import seconds

if TYPE_CHECKING:
    from cli.invocation import Invocation
    from client import errors

MODULES = (
    "cli.commands.apply", "cli.commands.auth", "cli.commands.get", "cli.commands.describe",
    "cli.commands.delete", "cli.commands.create", "cli.commands.info", "cli.commands.config",
    "cli.cluster.commands", "cli.commands.nodeagent", "cli.commands.debug", "cli.commands.nodes",
    "cli.commands.port_forward", "cli.commands.rollout", "cli.commands.scale",
    "cli.commands.autoscale",
    "cli.commands.set_image", "cli.commands.top", "cli.commands.pki",
    "cli.cluster.etcdsnapshot",
)  # fmt: skip
"""Each module adds its commands with `register(subparsers, common)`, in help order."""
COMMANDS = {
    "apply": "cli.commands.apply", "auth": "cli.commands.auth", "get": "cli.commands.get",
    "describe": "cli.commands.describe", "delete": "cli.commands.delete",
    "create": "cli.commands.create", "version": "cli.commands.info",
    "cluster-info": "cli.commands.info", "config": "cli.commands.config",
    "up": "cli.cluster.commands", "down": "cli.cluster.commands",
    "load": "cli.cluster.commands", "exec": "cli.commands.nodeagent",
    "logs": "cli.commands.nodeagent", "cordon": "cli.commands.nodes",
    "uncordon": "cli.commands.nodes", "drain": "cli.commands.nodes",
    "taint": "cli.commands.nodes", "label": "cli.commands.nodes",
    "port-forward": "cli.commands.port_forward", "rollout": "cli.commands.rollout",
    "scale": "cli.commands.scale", "set": "cli.commands.set_image", "top": "cli.commands.top",
    "autoscale": "cli.commands.autoscale", "debug": "cli.commands.debug",
    "pki": "cli.commands.pki", "etcd": "cli.cluster.etcdsnapshot",
}  # fmt: skip
"""Command -> its module. Only the module of the command being run is imported: importing
them all (gRPC, the protos, the cluster driver) was most of `tug`'s start-up time.
tests/unit/cli/test_main_startup.py checks this table against what the modules add."""
VALUE_FLAGS = frozenset({"-s", "--server", "--context", "-n", "--namespace", "--request-timeout"})
"""The common flags that take a value (the next word when not given as --flag=value)."""


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of a command line, skipping the common flags before it."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in VALUE_FLAGS:
            skip = True
        elif not word.startswith("-"):
            return word
    return None


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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `tug` argument parser: with `command` known, only that command's module."""
    common = common_flags()
    parser = _Parser(
        prog="tug",
        parents=[common],
        description="Tugboat's command line: kubectl's verbs for a small cluster.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    names = [COMMANDS[command]] if command in COMMANDS else MODULES
    for name in names:
        importlib.import_module(name).register(sub, common)
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
    configure_logs: bool = False,
) -> int:
    """Run one command; the exit code (0 success, 1 failure). `configure_logs` sets up
    structured logs once the command's module is imported, and only if it logs at all
    (structlog is imported then), which keeps it out of the start-up of the others."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(command_of(words)).parse_args(words)
    except CliError as e:
        err.write(f"error: {e}\n")
        return 1
    except SystemExit as e:  # --help
        return int(e.code or 0)
    if configure_logs and "structlog" in sys.modules:
        from client.logs import configure_logging

        configure_logging("tug", level=os.environ.get("TUG_LOG_LEVEL", "warning"))
    if not getattr(args, "func", None):
        build_parser().print_help(out)
        return 1
    from cli.invocation import Invocation

    inv = Invocation(args, stdout=out, stderr=err, stdin=stdin or sys.stdin)
    try:
        code: int = await args.func(inv)
    except CliError as e:
        inv.err(f"error: {e}")
        return 1
    except Exception as e:
        # An API error can only come from a command that imported the client.
        api_errors = sys.modules.get("client.errors")
        if api_errors is None or not isinstance(e, api_errors.ApiError):
            raise
        if isinstance(e, api_errors.Unavailable):
            inv.err(f"error: {_unreachable(inv, e)}")
        else:
            inv.err(f"error: {e.message}")
        return 1
    finally:
        out.flush()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """The console script."""
    try:
        return asyncio.run(run(argv, configure_logs=True))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())

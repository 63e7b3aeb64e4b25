"""`tug` imports only the module of the command it runs: the command table matches what
the modules add, and a command that asks no server loads no gRPC and no logging."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from cli.main import COMMANDS, MODULES, _Parser, command_of, common_flags


@pytest.mark.parametrize("module", MODULES)
def test_the_command_table_names_exactly_the_commands_each_module_adds(module: str):
    parser = _Parser(prog="tug")
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(module).register(sub, common_flags())
    assert set(sub.choices) == {c for c, m in COMMANDS.items() if m == module}


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["get", "pods"], "get"),
        (["-n", "shop", "get", "pods"], "get"),
        (["--server", "127.0.0.1:1", "--context=x", "apply", "-f", "a.yaml"], "apply"),
        (["--request-timeout", "5s", "version"], "version"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_word_is_found_past_the_common_flags(argv: list[str], command: str | None):
    assert command_of(argv) == command


def test_a_command_that_asks_no_server_loads_no_grpc_and_no_logging():
    probe = (
        "import sys\n"
        "from cli.main import main\n"
        "sys.argv = ['tug', 'version', '--client']\n"
        "assert main() == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('grpc', 'structlog', 'google') or m in ('client.api', 'cli.cluster.commands'))\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_help_lists_every_command():
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for command in COMMANDS:
        assert command in done.stdout

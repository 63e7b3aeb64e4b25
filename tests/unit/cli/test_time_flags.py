"""Every flag of `tug` that takes a time takes it as kubectl does: `1s`, `5m`, or seconds."""

from __future__ import annotations

import pytest

from cli.errors import CliError
from cli.main import build_parser

TIME_FLAGS = [
    pytest.param(["rollout", "status", "deployment/web", "--timeout"], "timeout", id="rollout"),
    pytest.param(["drain", "node-1", "--timeout"], "timeout", id="drain"),
    pytest.param(["delete", "pod", "web", "--wait", "--timeout"], "timeout", id="delete"),
    pytest.param(["get", "pods", "--request-timeout"], "request_timeout", id="request-timeout"),
]


@pytest.mark.parametrize(("argv", "dest"), TIME_FLAGS)
@pytest.mark.parametrize(("text", "expected"), [("1s", 1.0), ("2m", 120.0), ("30", 30.0)])
def test_a_time_flag_takes_kubectl_durations_and_plain_seconds(
    argv: list[str], dest: str, text: str, expected: float
) -> None:
    args = build_parser().parse_args([*argv, text])
    assert getattr(args, dest) == expected


@pytest.mark.parametrize(("argv", "dest"), TIME_FLAGS)
def test_a_negative_time_is_refused(argv: list[str], dest: str) -> None:
    *head, flag = argv
    with pytest.raises(CliError, match="is not a number of seconds >= 0"):
        build_parser().parse_args([*head, f"{flag}=-5s"])

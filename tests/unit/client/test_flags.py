"""The host:port list flag every daemon shares."""

import argparse

import pytest

from client.flags import endpoint_list, seconds


def test_a_comma_separated_list_of_endpoints_parses_with_blanks_dropped() -> None:
    parse = endpoint_list("--server")
    assert parse("127.0.0.1:6443, 127.0.0.1:6444,") == ["127.0.0.1:6443", "127.0.0.1:6444"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("127.0.0.1", "'127.0.0.1' is not host:port", id="no port"),
        pytest.param("127.0.0.1:http", "is not host:port", id="a port that is not a number"),
        pytest.param(":6443", "is not host:port", id="no host"),
        pytest.param(" , ", "at least one host:port is needed", id="nothing at all"),
    ],
)
def test_a_bad_endpoint_is_refused_naming_the_flag(text: str, problem: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=problem) as caught:
        endpoint_list("--etcd-servers")(text)
    assert str(caught.value).startswith("--etcd-servers: ")


@pytest.mark.parametrize("text", ["0", "2", "0.5"])
def test_a_duration_of_zero_or_more_seconds_parses(text: str) -> None:
    assert seconds(text) == float(text)


@pytest.mark.parametrize("text", ["-1", "soon", ""])
def test_a_negative_or_non_numeric_duration_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not a number of seconds >= 0"):
        seconds(text)

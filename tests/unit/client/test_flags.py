"""The flag types every daemon and `tug` share: endpoint lists and durations."""

import argparse

import pytest

from client.flags import endpoint_list, positive_seconds, seconds, whole_seconds


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("1.5s", 1.5),
    ],
)
def test_a_duration_may_be_spelled_as_kubectl_spells_it(text: str, expected: float) -> None:
    assert seconds(text) == expected


@pytest.mark.parametrize("text", ["5x", "m5", "1h-30m", "s"])
def test_a_duration_with_an_unknown_unit_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="or a duration such as 30s"):
        seconds(text)


@pytest.mark.parametrize("text", ["0", "0s", "-1"])
def test_a_positive_duration_refuses_zero_and_less(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not a number of seconds > 0"):
        positive_seconds(text)


def test_whole_seconds_take_units_but_refuse_fractions() -> None:
    assert whole_seconds("5m") == 300
    with pytest.raises(argparse.ArgumentTypeError, match="whole number of seconds"):
        whole_seconds("1.5")


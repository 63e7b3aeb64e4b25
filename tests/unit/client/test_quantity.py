"""Kubernetes quantities: the grammar, exact values, rounding up, and clear errors."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.quantity import (
    cpu_millis,
    format_cpu,
    format_memory,
    format_quantity,
    memory_bytes,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("1", Fraction(1), id="a plain integer"),
        pytest.param("500m", Fraction(1, 2), id="milli"),
        pytest.param("1.5", Fraction(3, 2), id="a decimal fraction"),
        pytest.param(".5", Fraction(1, 2), id="a fraction without a leading digit"),
        pytest.param("1.", Fraction(1), id="a trailing dot"),
        pytest.param("128Mi", Fraction(128 * 2**20), id="binary mebi"),
        pytest.param("1Ki", Fraction(1024), id="binary kibi"),
        pytest.param("2Ei", Fraction(2 * 2**60), id="binary exbi"),
        pytest.param("1G", Fraction(10**9), id="decimal giga"),
        pytest.param("1k", Fraction(1000), id="decimal kilo"),
        pytest.param("3n", Fraction(3, 10**9), id="nano"),
        pytest.param("7u", Fraction(7, 10**6), id="micro"),
        pytest.param("1E", Fraction(10**18), id="a bare E is exa"),
        pytest.param("2e3", Fraction(2000), id="a lowercase decimal exponent"),
        pytest.param("1E3", Fraction(1000), id="an uppercase decimal exponent"),
        pytest.param("1e-3", Fraction(1, 1000), id="a negative exponent"),
        pytest.param("1e+2", Fraction(100), id="an exponent with a plus sign"),
        pytest.param("-1", Fraction(-1), id="a negative sign"),
        pytest.param("+1k", Fraction(1000), id="a positive sign"),
        pytest.param("0", Fraction(0), id="zero"),
        pytest.param("0.1", Fraction(1, 10), id="one tenth is exact"),
    ],
)
def test_a_valid_quantity_parses_to_its_exact_value(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("abc", "regular expression", id="letters only"),
        pytest.param("1e", "regular expression", id="an exponent without digits"),
        pytest.param("1.2.3", "regular expression", id="two dots"),
        pytest.param("1KI", "regular expression", id="a wrongly cased binary suffix"),
        pytest.param("1K", "regular expression", id="an uppercase K is not kilo"),
        pytest.param("1m1", "regular expression", id="digits after a suffix"),
        pytest.param(".", "regular expression", id="a lone dot"),
        pytest.param("1e1.5", "regular expression", id="a fractional exponent"),
        pytest.param(" 1", "whitespace", id="leading whitespace"),
        pytest.param("1e99999", "exponent out of range", id="an absurd exponent"),
    ],
)
def test_an_invalid_quantity_is_a_value_error_saying_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        parse_quantity(text)
    assert repr(text) in str(info.value) or text == ""


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        pytest.param("500m", 500, id="millicores stay"),
        pytest.param("1.5", 1500, id="cores become millicores"),
        pytest.param("0.0001", 1, id="a tiny amount rounds up to one millicore"),
        pytest.param("100u", 1, id="microcores round up"),
        pytest.param("2", 2000, id="whole cores"),
    ],
)
def test_cpu_millis_rounds_up(text: str, millis: int) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "count"),
    [
        pytest.param("128Mi", 134217728, id="mebibytes"),
        pytest.param("1G", 1000000000, id="gigabytes"),
        pytest.param("1.5k", 1500, id="a fraction of a kilo"),
        pytest.param("100m", 1, id="a fraction of a byte rounds up"),
    ],
)
def test_memory_bytes_rounds_up(text: str, count: int) -> None:
    assert memory_bytes(text) == count


@pytest.mark.parametrize(
    ("value", "binary", "text"),
    [
        pytest.param(Fraction(1, 2), False, "500m", id="a half is 500m"),
        pytest.param(Fraction(2000), False, "2k", id="thousands get k"),
        pytest.param(Fraction(1500), False, "1500", id="no suffix when it would not stay whole"),
        pytest.param(Fraction(2**20), True, "1Mi", id="binary for byte counts"),
        pytest.param(Fraction(0), False, "0", id="zero"),
        pytest.param(Fraction(-3, 1000), False, "-3m", id="negative milli"),
    ],
)
def test_format_quantity_writes_an_exact_short_form(
    value: Fraction, binary: bool, text: str
) -> None:
    assert format_quantity(value, binary=binary) == text


def test_cpu_and_memory_print_as_kubectl_does() -> None:
    assert (format_cpu(1000), format_cpu(250)) == ("1", "250m")
    assert format_memory(134217728) == "128Mi"


@given(
    st.fractions(min_value=-(10**12), max_value=10**12, max_denominator=10**6),
    st.booleans(),
)
def test_formatted_quantities_parse_back_to_at_least_the_value(
    value: Fraction, binary: bool
) -> None:
    parsed = parse_quantity(format_quantity(value, binary=binary))
    # Exact unless the value needs more precision than nano, which rounds up (away from 0).
    assert abs(parsed) >= abs(value)
    assert abs(parsed - value) < Fraction(1, 10**9)


@given(st.integers(min_value=0, max_value=2**62))
def test_whole_byte_counts_round_trip_exactly(count: int) -> None:
    assert memory_bytes(format_memory(count)) == count

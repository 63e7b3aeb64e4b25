"""Timestamps: written as Kubernetes writes them and read back to the same instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from client.timestamps import (
    format_time,
    from_epoch,
    now,
    now_micro,
    parse_time,
    to_epoch,
    try_parse,
)


def test_a_time_is_written_to_the_second_in_utc() -> None:
    moment = datetime(2026, 12, 2, 17, 56, 0, 123456, tzinfo=UTC)
    assert format_time(moment) == "2026-12-02T17:56:00Z"


def test_a_micro_time_keeps_its_microseconds() -> None:
    moment = datetime(2026, 12, 2, 17, 56, 0, 123456, tzinfo=UTC)
    assert format_time(moment, micro=True) == "2026-12-02T17:56:00.123456Z"


def test_a_time_in_another_zone_is_written_in_utc() -> None:
    moment = datetime(2026, 12, 2, 18, 56, 0, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(moment) == "2026-12-02T17:56:00Z"


@pytest.mark.parametrize("micro", [False, True], ids=["seconds", "microseconds"])
def test_what_is_written_reads_back_to_the_same_instant(micro: bool) -> None:
    moment = datetime(2026, 12, 2, 17, 56, 7, 250000 if micro else 0, tzinfo=UTC)
    assert parse_time(format_time(moment, micro=micro)) == moment


def test_a_time_with_an_offset_is_read_as_that_instant() -> None:
    assert parse_time("2026-12-02T18:56:00+01:00") == datetime(2026, 12, 2, 17, 56, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "2026-12-02 17:56", "2026-12-02T17:56:00"])
def test_a_stamp_that_is_not_rfc3339_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_now_and_an_offset_are_that_far_apart() -> None:
    assert 59 <= to_epoch(now(60)) - to_epoch(now()) <= 61


def test_now_micro_is_within_a_second_of_now() -> None:
    assert abs(to_epoch(now_micro()) - datetime.now(UTC).timestamp()) < 1.5


@pytest.mark.parametrize("text", ["", "not a time"], ids=["empty", "malformed"])
def test_a_tolerant_reader_gets_none_for_a_missing_or_malformed_stamp(text: str) -> None:
    assert try_parse(text) is None


def test_a_tolerant_reader_reads_a_stamp_like_the_strict_one() -> None:
    assert try_parse("2026-12-02T17:56:00Z") == parse_time("2026-12-02T17:56:00Z")


def test_an_epoch_is_written_as_the_same_instant() -> None:
    assert to_epoch(from_epoch(1_800_000_000)) == 1_800_000_000

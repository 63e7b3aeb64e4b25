"""Cron schedules: what parses, what is refused with which words, and the times named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from client import cron


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_minute_names_the_next_whole_minute() -> None:
    schedule = cron.parse("* * * * *")
    assert schedule.next_after(at("2026-12-04T10:00:30")) == at("2026-12-04T10:01:00")
    assert schedule.next_after(at("2026-12-04T10:01:00")) == at("2026-12-04T10:02:00")


def test_steps_ranges_lists_and_names_combine() -> None:
    schedule = cron.parse("*/15 9-17 * JAN,jun MON-FRI")
    assert schedule.minutes == {0, 15, 30, 45}
    assert schedule.hours == set(range(9, 18))
    assert schedule.months == {1, 6}
    assert schedule.weekdays == {1, 2, 3, 4, 5}


def test_a_start_with_a_step_runs_to_the_end_of_the_field() -> None:
    assert cron.parse("5/20 * * * *").minutes == {5, 25, 45}


@pytest.mark.parametrize(
    ("macro", "after", "expected"),
    [
        ("@hourly", "2026-12-04T10:10:00", "2026-12-04T11:00:00"),
        ("@daily", "2026-12-04T10:10:00", "2026-12-05T00:00:00"),
        ("@weekly", "2026-12-04T10:10:00", "2026-12-06T00:00:00"),
        ("@monthly", "2026-12-04T10:10:00", "2027-01-01T00:00:00"),
        ("@yearly", "2026-12-04T10:10:00", "2027-01-01T00:00:00"),
    ],
)
def test_macros_name_their_times(macro: str, after: str, expected: str) -> None:
    assert cron.parse(macro).next_after(at(after)) == at(expected)


def test_restricted_day_fields_match_either_as_cron_does() -> None:
    # The 13th of the month, or any Friday.
    schedule = cron.parse("0 0 13 * 5")
    assert schedule.next_after(at("2026-12-04T00:00:00")) == at("2026-12-11T00:00:00")
    assert schedule.next_after(at("2026-12-11T00:00:00")) == at("2026-12-13T00:00:00")


def test_a_starred_day_field_makes_both_days_required() -> None:
    assert cron.parse("0 0 * * 1").next_after(at("2026-12-04T00:00:00")) == at(
        "2026-12-07T00:00:00"
    )


def test_a_rare_date_is_found_without_walking_every_minute() -> None:
    assert cron.parse("0 0 29 2 *").next_after(at("2026-12-04T00:00:00")) == at(
        "2028-02-29T00:00:00"
    )


def test_a_date_that_never_comes_has_no_next_time() -> None:
    assert cron.parse("0 0 30 2 *").next_after(at("2026-12-04T00:00:00")) is None


def test_the_latest_time_at_or_before_a_moment() -> None:
    schedule = cron.parse("30 2 * * *")
    assert schedule.latest_at_or_before(at("2026-12-04T02:30:00")) == at("2026-12-04T02:30:00")
    assert schedule.latest_at_or_before(at("2026-12-04T02:29:59")) == at("2026-12-03T02:30:00")


def test_a_time_zone_moves_the_schedule() -> None:
    berlin = cron.zone("Europe/Berlin")
    # Midnight in Berlin in winter is 23:00 UTC the day before.
    assert cron.parse("0 0 * * *").next_after(at("2026-12-04T10:00:00"), berlin) == at(
        "2026-12-04T23:00:00"
    )


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("61 * * * *", "minute: 61 is out of range 0-59"),
        ("* 24 * * *", "hour: 24 is out of range 0-23"),
        ("* * 0 * *", "day of month: 0 is out of range 1-31"),
        ("* * * 13 *", "month: 13 is out of range 1-12"),
        ("* * * * 7", "day of week: 7 is out of range 0-6"),
        ("* * * *", "expected 5 fields"),
        ("*/0 * * * *", "step '0'"),
        ("10-5 * * * *", "runs backwards"),
        ("x * * * *", "'x' in 'x' is not a number"),
        ("@fortnightly", "unknown macro"),
        ("TZ=UTC * * * * *", "use spec.timeZone"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_part(schedule: str, words: str) -> None:
    with pytest.raises(cron.CronError, match=words.replace("*", r"\*")):
        cron.parse(schedule)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(cron.CronError, match="unknown time zone 'Mars/Olympus'"):
        cron.zone("Mars/Olympus")


@pytest.mark.parametrize("name", ["\u00e9" * 300, "America", "Europe/"])
def test_a_name_the_file_system_cannot_look_up_is_an_unknown_time_zone(name: str) -> None:
    # The zone database is files: a name too long for a file name or naming a folder
    # failed as OSError, which the API server answered as UNKNOWN (found by the fuzzer).
    with pytest.raises(cron.CronError, match="unknown time zone"):
        cron.zone(name)

"""Ages and durations print as kubectl prints them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from client.printing.age import age, human_duration, since

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (182, "3m2s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400, "2d"),
        (2 * 86400 + 3 * 3600, "2d3h"),
        (30 * 86400, "30d"),
        (800 * 86400, "2y70d"),
        (9 * 365 * 86400, "9y"),
    ],
    ids=lambda v: str(v),
)
def test_durations_read_like_kubectl(seconds, text):
    assert human_duration(seconds) == text


def test_the_age_of_a_timestamp_counts_from_now():
    created = (NOW - timedelta(minutes=3, seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert age(created, NOW) == "3m2s"


def test_an_object_without_a_timestamp_has_an_unknown_age():
    assert age("", NOW) == "<unknown>"


def test_a_duration_between_two_timestamps_ignores_now():
    assert since("2026-11-23T11:00:00Z", "2026-11-23T11:00:42Z", NOW) == "42s"
    assert since("2026-11-23T11:59:30Z", "", NOW) == "30s"
    assert since("", "", NOW) == ""

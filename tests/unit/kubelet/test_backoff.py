"""Crash-loop back-off: immediate first retry, then doubling up to the maximum."""

from __future__ import annotations

import pytest

from kubelet.backoff import Backoff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_first_retry_is_immediate_and_later_ones_double_up_to_the_maximum():
    clock = Clock()
    b = Backoff(10, 40, clock)
    key = ("uid", "c")
    assert b.remaining(key) == 0
    delays = []
    for _ in range(5):
        b.next(key)
        delays.append(b.delay(key))
    assert delays == [10, 20, 40, 40, 40]
    assert b.remaining(key) == 40
    clock.now += 15
    assert b.remaining(key) == 25


def test_an_entry_left_alone_for_twice_the_maximum_is_forgotten():
    clock = Clock()
    b = Backoff(10, 40, clock)
    b.next("k")
    b.next("k")
    clock.now += 81
    assert b.delay("k") == 0
    b.next("k")
    assert b.delay("k") == 10


def test_forgetting_a_pod_drops_all_its_containers():
    b = Backoff(1, 2)
    b.next(("p1", "a"))
    b.next(("p1", "b"))
    b.next(("p2", "a"))
    b.forget_prefix("p1")
    assert b.delay(("p1", "a")) == b.delay(("p1", "b")) == 0
    assert b.delay(("p2", "a")) == 1


def test_an_initial_delay_above_the_maximum_is_refused():
    with pytest.raises(ValueError, match="initial"):
        Backoff(10, 5)

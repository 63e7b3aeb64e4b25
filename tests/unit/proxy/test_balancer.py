"""Choosing endpoints: round-robin, least-connections, ClientIP affinity, endpoint changes."""

from __future__ import annotations

from collections import Counter

import pytest

from proxy.balancer import LEAST_CONNECTIONS, Balancer
from proxy.table import Backend

A, B, C = Backend("127.0.0.11", 80), Backend("127.0.0.12", 80), Backend("127.0.0.13", 80)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_round_robin_takes_each_endpoint_in_turn() -> None:
    lb = Balancer()
    lb.update([A, B, C], None)

    picks = [lb.pick() for _ in range(300)]

    assert Counter(picks) == {A: 100, B: 100, C: 100}
    assert picks[:3] == [A, B, C]


def test_no_endpoint_means_no_pick() -> None:
    lb = Balancer()
    assert lb.pick("1.2.3.4") is None
    lb.update([A], None)
    assert lb.pick(exclude=frozenset({A})) is None


def test_least_connections_prefers_the_endpoint_with_fewest_open() -> None:
    lb = Balancer(LEAST_CONNECTIONS)
    lb.update([A, B, C], None)
    for _ in range(3):
        lb.opened(A)
    lb.opened(B)

    assert lb.pick() == C
    lb.opened(C)
    lb.opened(C)
    assert lb.pick() == B


def test_least_connections_spreads_ties_round_robin() -> None:
    lb = Balancer(LEAST_CONNECTIONS)
    lb.update([A, B, C], None)
    assert [lb.pick() for _ in range(3)] == [A, B, C]


def test_client_ip_affinity_sticks_until_its_timeout() -> None:
    clock = Clock()
    lb = Balancer(affinity_timeout=10.0, clock=clock)
    lb.update([A, B, C], 10.0)

    first = lb.pick("172.30.1.9")
    assert {lb.pick("172.30.1.9") for _ in range(10)} == {first}
    assert lb.pick("172.30.1.10") != first

    clock.now += 11
    assert lb.pick("172.30.1.9") != first


def test_affinity_to_a_removed_endpoint_is_forgotten() -> None:
    lb = Balancer(affinity_timeout=60.0)
    lb.update([A, B], 60.0)
    first = lb.pick("172.30.1.9")
    other = B if first == A else A

    lb.update([other], 60.0)

    assert lb.pick("172.30.1.9") == other


def test_open_connection_counts_survive_an_endpoint_update() -> None:
    lb = Balancer(LEAST_CONNECTIONS)
    lb.update([A, B], None)
    lb.opened(A)
    lb.update([A, B, C], None)
    assert lb.active(A) == 1
    lb.closed(A)
    assert lb.active(A) == 0


def test_an_unknown_mode_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="fastest"):
        Balancer("fastest")

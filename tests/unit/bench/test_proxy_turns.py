"""bench.proxy's turns: every way once a round, the order turned each round, medians."""

from __future__ import annotations

import importlib
from typing import Any

turns: Any = importlib.import_module("bench.proxy.turns")


def test_each_round_starts_one_way_later_and_the_figures_are_the_medians() -> None:
    order: list[str] = []
    rates = {"a": iter([1.0, 5.0, 3.0]), "b": iter([10.0, 30.0, 20.0])}

    def measure(name: str) -> tuple[float, float, str]:
        order.append(name)
        rate = next(rates[name])
        return rate, rate * 2, ""

    assert turns.in_turns(["a", "b"], 3, measure) == {"a": (3.0, 6.0), "b": (20.0, 40.0)}
    assert order == ["a", "b", "b", "a", "a", "b"]

"""Every kind the API serves has its strategy, found from its own module."""

from __future__ import annotations

import pytest

from client.kinds import KINDS, Kind
from master.apiserver.strategies import all_strategies, strategy_for


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.resource)
def test_every_served_kind_has_a_strategy_for_exactly_that_kind(kind: Kind) -> None:
    assert strategy_for(kind).kind is kind


def test_no_strategy_serves_a_kind_the_api_does_not_know() -> None:
    assert {s.kind.resource for s in all_strategies()} <= {k.resource for k in KINDS}


def test_a_kind_without_a_strategy_names_the_module_to_add() -> None:
    made_up = Kind("Widget", "example.com/v1", "widgets", KINDS[0].message, True)
    with pytest.raises(LookupError, match=r"strategies/widget\.py"):
        strategy_for(made_up)

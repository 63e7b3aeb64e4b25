"""Every kind's strategy, found by module: one file per kind under this package.

Each module (but base.py and the shared pieces named `_*.py`) defines `STRATEGY`, an
instance of a Strategy subclass (base.py) for its kind. They are found by listing the
package, so a kind that later work adds slots in with one new file; `strategy_for` names
the missing module when a served kind has none, and a unit test checks that every kind in
client/kinds.py has one.
"""

from __future__ import annotations

import importlib
import pkgutil

from client.kinds import Kind
from master.apiserver.strategies.base import Strategy
from proto.apiextensions_pb2 import CustomObject

__all__ = ["Strategy", "all_strategies", "strategy_for"]

_FOUND: dict[str, Strategy] = {}


def _load() -> dict[str, Strategy]:
    if not _FOUND:
        for info in pkgutil.iter_modules(__path__):
            if info.name == "base" or info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            strategy = getattr(module, "STRATEGY", None)
            if not isinstance(strategy, Strategy):
                raise TypeError(f"{module.__name__} defines no STRATEGY (a Strategy instance)")
            _FOUND[strategy.kind.resource] = strategy
    return _FOUND


def strategy_for(kind: Kind) -> Strategy:
    """The rules of `kind`."""
    if kind.message is CustomObject:
        # A custom kind's rules come from its CRD, known only at run time.
        from master.apiserver.customresources.strategy import custom_strategy

        return custom_strategy(kind)  # type: ignore[arg-type]
    try:
        return _load()[kind.resource]
    except KeyError:
        raise LookupError(
            f"no strategy for {kind.resource}: add master/apiserver/strategies/"
            f"{kind.singular}.py defining STRATEGY"
        ) from None


def all_strategies() -> list[Strategy]:
    """Every strategy there is."""
    return list(_load().values())

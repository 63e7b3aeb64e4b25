"""StatefulSets: ordered pods by default, a rolling update from the top; identity frozen.

Unlike the other workloads, an update may change only a few fields of the spec (see
validation/statefulset.py), because the set's pods and claims are named after the rest.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import statefulset
from master.apiserver.validation.errors import Errors


class StatefulSetStrategy(Strategy):
    def default(self, obj: Any) -> None:
        defaults.default_stateful_set(obj)

    def validate(self, errs: Errors, obj: Any) -> None:
        statefulset.validate_stateful_set(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        statefulset.validate_stateful_set_update(errs, new, old)


STRATEGY = StatefulSetStrategy(by_resource("statefulsets"))

"""PriorityClasses: a value that never changes, and the two system classes kept for us."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import cluster
from master.apiserver.validation.errors import Errors


class PriorityClassStrategy(Strategy):
    def default(self, obj: Any) -> None:
        obj.preemption_policy = obj.preemption_policy or "PreemptLowerPriority"

    def validate(self, errs: Errors, obj: Any) -> None:
        cluster.validate_priority_class(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        cluster.validate_priority_class_update(errs, new, old)


STRATEGY = PriorityClassStrategy(by_resource("priorityclasses"))

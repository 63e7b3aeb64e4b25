"""Events: a count of at least one, a known type and a reason."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import cluster
from master.apiserver.validation.errors import Errors


class EventStrategy(Strategy):
    def default(self, obj: Any) -> None:
        obj.count = obj.count or 1

    def validate(self, errs: Errors, obj: Any) -> None:
        cluster.validate_event(errs, obj)


STRATEGY = EventStrategy(by_resource("events"))

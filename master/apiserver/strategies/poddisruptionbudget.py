"""PodDisruptionBudgets: the disruption controller writes their status, the eviction
subresource reads it (eviction.py); nothing is defaulted, as in Kubernetes."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import disruption
from master.apiserver.validation.errors import Errors


class PodDisruptionBudgetStrategy(Strategy):
    def validate(self, errs: Errors, obj: Any) -> None:
        disruption.validate_pod_disruption_budget(errs, obj)


STRATEGY = PodDisruptionBudgetStrategy(by_resource("poddisruptionbudgets"))

"""LimitRanges: per-container (and per-pod) defaults and bounds of cpu and memory, which
admission applies to each new pod (master/apiserver/admission/limitranger.py)."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import policy
from master.apiserver.validation.errors import Errors


class LimitRangeStrategy(Strategy):
    def validate(self, errs: Errors, obj: Any) -> None:
        policy.validate_limit_range(errs, obj)


STRATEGY = LimitRangeStrategy(by_resource("limitranges"))

"""ResourceQuotas: the hard limits a namespace lives under; `status` holds the hard limits
and the usage that admission last counted (client/quota.py)."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import policy
from master.apiserver.validation.errors import Errors


class ResourceQuotaStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        obj.ClearField("status")

    def validate(self, errs: Errors, obj: Any) -> None:
        policy.validate_resource_quota(errs, obj)


STRATEGY = ResourceQuotaStrategy(by_resource("resourcequotas"))

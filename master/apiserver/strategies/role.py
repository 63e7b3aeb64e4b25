"""Roles: namespaced RBAC rules (no non-resource URLs)."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import rbac
from master.apiserver.validation.errors import Errors


class RoleStrategy(Strategy):
    def validate(self, errs: Errors, obj: Any) -> None:
        rbac.validate_rules(errs, obj.rules, cluster_scoped=False)


STRATEGY = RoleStrategy(by_resource("roles"))

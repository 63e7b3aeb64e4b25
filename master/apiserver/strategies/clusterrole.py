"""ClusterRoles: RBAC rules for the whole cluster, non-resource URLs included."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import rbac
from master.apiserver.validation.errors import Errors


class ClusterRoleStrategy(Strategy):
    def validate(self, errs: Errors, obj: Any) -> None:
        rbac.validate_rules(errs, obj.rules, cluster_scoped=True)


STRATEGY = ClusterRoleStrategy(by_resource("clusterroles"))

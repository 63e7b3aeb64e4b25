"""ClusterRoleBindings: subjects granted a ClusterRole everywhere; roleRef fixed."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import rbac
from master.apiserver.validation.errors import Errors


class ClusterRoleBindingStrategy(Strategy):
    def validate(self, errs: Errors, obj: Any) -> None:
        rbac.validate_binding(errs, obj, cluster_scoped=True)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        rbac.validate_binding_update(errs, new, old)


STRATEGY = ClusterRoleBindingStrategy(by_resource("clusterrolebindings"))

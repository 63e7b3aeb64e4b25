"""IngressClasses: a parameters reference defaults to cluster scope; the controller never
changes, since every Ingress of the class would silently pass to another controller."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import networking
from master.apiserver.validation.errors import Errors


class IngressClassStrategy(Strategy):
    def default(self, obj: Any) -> None:
        # networking/v1 SetDefaults_IngressClass.
        params = obj.spec.parameters
        if obj.spec.HasField("parameters") and not params.HasField("scope"):
            params.scope = "Cluster"

    def validate(self, errs: Errors, obj: Any) -> None:
        networking.validate_ingress_class(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        networking.validate_ingress_class_update(errs, new, old)


STRATEGY = IngressClassStrategy(by_resource("ingressclasses"))

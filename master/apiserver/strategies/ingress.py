"""Ingresses: the status is the controller's, so a create starts without one.

The class default (spec.ingressClassName from the default IngressClass) needs a read of
other objects, so it is admission's (admission/ingressclass.py), not a default here.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import networking
from master.apiserver.validation.errors import Errors


class IngressStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        obj.ClearField("status")

    def validate(self, errs: Errors, obj: Any) -> None:
        networking.validate_ingress(errs, obj)
        networking.validate_ingress_status(errs, obj)


STRATEGY = IngressStrategy(by_resource("ingresses"))

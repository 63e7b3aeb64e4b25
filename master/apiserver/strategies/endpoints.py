"""Endpoints: written by the endpoints controller; every port's protocol defaults to TCP."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import service
from master.apiserver.validation.errors import Errors


class EndpointsStrategy(Strategy):
    def default(self, obj: Any) -> None:
        for subset in obj.subsets:
            for port in subset.ports:
                port.protocol = port.protocol or "TCP"

    def validate(self, errs: Errors, obj: Any) -> None:
        service.validate_endpoints(errs, obj)


STRATEGY = EndpointsStrategy(by_resource("endpoints"))

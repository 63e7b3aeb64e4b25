"""EndpointSlices: written by the endpointslice controller from each Service's pods, or
mirrored from a selector-less Service's Endpoints; a port's protocol defaults to TCP and
its name to "", as Kubernetes defaults them."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import discovery
from master.apiserver.validation.errors import Errors


class EndpointSliceStrategy(Strategy):
    def default(self, obj: Any) -> None:
        for port in obj.ports:
            if not port.HasField("protocol"):
                port.protocol = "TCP"
            if not port.HasField("name"):
                port.name = ""

    def validate(self, errs: Errors, obj: Any) -> None:
        discovery.validate_endpoint_slice(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        discovery.validate_endpoint_slice_update(errs, new, old)


STRATEGY = EndpointSliceStrategy(by_resource("endpointslices"))

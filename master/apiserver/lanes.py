"""Serving the lanes (client/lanes.py says why they exist).

Every lane is registered as a method of its own, since gRPC keeps one call request open
per registered method. A lane of a Resources method is that method of the service, its
request and response types read from api.proto's descriptor, so a method added there
gets its lanes with no change here. Each Lease lane is the service's Update of Leases,
which refuses any other resource.
"""

from __future__ import annotations

from typing import Any

import grpc

from client import lanes
from master.apiserver.service import ResourcesService
from proto import api_pb2


def _handler(call: Any, request: type[Any], response: type[Any]) -> grpc.RpcMethodHandler[Any, Any]:
    return grpc.unary_unary_rpc_method_handler(
        call,
        request_deserializer=request.FromString,
        response_serializer=response.SerializeToString,
    )


def _register(server: grpc.aio.Server, service: str, handlers: dict[str, Any]) -> None:
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    # Public API (the generated *_pb2_grpc.py call it too); grpc's type stubs lack it.
    server.add_registered_method_handlers(service, handlers)  # type: ignore[attr-defined]


def add_lanes(service: ResourcesService, server: grpc.aio.Server) -> None:
    """Register lanes.LANES lanes of every Resources method in lanes.UNARY, and
    lanes.LEASE_LANES Lease lanes, on `server` (before it starts)."""
    methods = api_pb2.DESCRIPTOR.services_by_name[lanes.RESOURCES.rsplit(".", 1)[1]]
    handlers = {}
    for name in lanes.UNARY:
        described = methods.methods_by_name[name]
        handler = _handler(
            getattr(service, name),
            getattr(api_pb2, described.input_type.name),
            getattr(api_pb2, described.output_type.name),
        )
        handlers.update({lanes.method(name, i): handler for i in range(lanes.LANES)})
    _register(server, lanes.SERVICE, handlers)
    lease = _handler(service.UpdateLease, api_pb2.UpdateRequest, api_pb2.ObjectResponse)
    _register(
        server,
        lanes.LEASE_SERVICE,
        {lanes.method("Update", i): lease for i in range(lanes.LEASE_LANES)},
    )

"""Serving the Lease lanes (client/lanes.py says why they exist).

Every lane is registered as a method of its own, since gRPC keeps one call request
open per registered method; each is the service's Update of Leases, which refuses any
other resource.
"""

from __future__ import annotations

import grpc

from client import lanes
from master.apiserver.service import ResourcesService
from proto import api_pb2


def add_lease_lanes(service: ResourcesService, server: grpc.aio.Server) -> None:
    """Register lanes.LANES methods of lanes.SERVICE, each serving `service.UpdateLease`."""
    handler = grpc.unary_unary_rpc_method_handler(
        service.UpdateLease,
        request_deserializer=api_pb2.UpdateRequest.FromString,
        response_serializer=api_pb2.ObjectResponse.SerializeToString,
    )
    handlers = {lanes.method(i): handler for i in range(lanes.LANES)}
    generic = grpc.method_handlers_generic_handler(lanes.SERVICE, handlers)
    server.add_generic_rpc_handlers((generic,))
    # Public API (the generated *_pb2_grpc.py call it too); grpc's type stubs lack it.
    server.add_registered_method_handlers(lanes.SERVICE, handlers)  # type: ignore[attr-defined]

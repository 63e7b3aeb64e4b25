"""Asking an API server whether it serves: the standard gRPC health check."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from client.tls import ClientCredentials, dial


async def check(
    endpoint: str, timeout: float = 2.0, tls: ClientCredentials | None = None
) -> tuple[bool, str]:
    """(serving, what to print): `SERVING`, `NOT_SERVING`, or why it did not answer."""
    async with dial(endpoint, tls) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                return False, "unreachable"
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return False, f"no answer within {timeout:g}s"
            return False, f"{e.code().name}: {e.details()}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return reply.status == health_pb2.HealthCheckResponse.SERVING, status

"""The API server starts on etcd and serves the basic verbs."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.apiserver.helpers import configmap, create, get, stub_for


async def test_a_created_object_can_be_read_back_with_its_server_set_fields(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("c1", a="1"))
        got = await get(stub, "configmaps", "default", "c1")
    assert got.data == {"a": "1"}
    assert got.metadata.uid == made.metadata.uid != ""
    assert got.metadata.resource_version == made.metadata.resource_version != ""
    assert got.metadata.creation_timestamp.endswith("Z")
    assert got.metadata.generation == 1


async def test_the_grpc_health_service_reports_serving(apiserver):
    async with grpc.aio.insecure_channel(apiserver.endpoint) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        resp = await health.Check(health_pb2.HealthCheckRequest(service=""))
    assert resp.status == health_pb2.HealthCheckResponse.SERVING

"""Invalid objects are refused with Kubernetes' message naming each bad field; none is stored."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from proto import workloads_pb2
from tests.integration.apiserver.helpers import create, get, list_names, stub_for, update


def deployment(name: str, replicas: int = 1) -> workloads_pb2.Deployment:
    d = workloads_pb2.Deployment(api_version="apps/v1", kind="Deployment")
    d.metadata.name = name
    d.metadata.namespace = "default"
    d.spec.replicas = replicas
    d.spec.selector.match_labels["app"] = name
    d.spec.template.metadata.labels["app"] = name
    c = d.spec.template.spec.containers.add()
    c.name = "main"
    c.image = "busybox:1.35"
    return d


async def test_an_invalid_create_names_each_field_and_writes_nothing(apiserver):
    bad = deployment("web", replicas=-1)
    bad.spec.ClearField("selector")
    async with stub_for(apiserver.endpoint) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await create(stub, bad)
        assert await list_names(stub, "deployments", "default") == []
    message = str(e.value.details())
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith('Deployment.apps "web" is invalid: ')
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in message
    assert "spec.selector: Required value" in message


async def test_an_invalid_update_is_refused_and_the_stored_object_stays(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        made: Any = await create(stub, deployment("web"))
        bad: Any = type(made)()
        bad.CopyFrom(made)
        bad.spec.replicas = -5
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await update(stub, bad)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "spec.replicas" in str(e.value.details())
        now = await get(stub, "deployments", "default", "web")
    assert now.spec.replicas == 1
    assert now.metadata.resource_version == made.metadata.resource_version

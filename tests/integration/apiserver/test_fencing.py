"""Fencing: a leader-only write lands only while the leader's election key is unchanged."""

from __future__ import annotations

import aetcd
import grpc
import pytest

from proto import api_pb2
from tests.integration.apiserver.helpers import configmap, create, get, list_names, stub_for, update


async def _fence_key(etcd, key: str) -> int:
    host, port = etcd.endpoint.split(":")
    async with aetcd.Client(host=host, port=int(port)) as c:
        await c.put(key.encode(), b"leader-a")
        return int((await c.get(key.encode())).create_revision)


async def test_a_write_with_the_current_fence_lands(apiserver, etcd_clean):
    revision = await _fence_key(etcd_clean, "/leases/scheduler")
    fence = api_pb2.Fence(key="/leases/scheduler", revision=revision)
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("c", v="1"), fence=fence)
        made.data["v"] = "2"
        assert (await update(stub, made, fence=fence)).data["v"] == "2"


async def test_a_write_with_a_stale_fence_is_refused_and_changes_nothing(apiserver, etcd_clean):
    revision = await _fence_key(etcd_clean, "/leases/scheduler")
    stale = api_pb2.Fence(key="/leases/scheduler", revision=revision - 1)
    absent = api_pb2.Fence(key="/leases/nobody", revision=revision)
    async with stub_for(apiserver.endpoint) as stub:
        for fence in (stale, absent):
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await create(stub, configmap("c"), fence=fence)
            assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "fenced out" in str(e.value.details())
        assert await list_names(stub, "configmaps", "default") == []
        made = await create(stub, configmap("c", v="1"))
        changed = await get(stub, "configmaps", "default", "c")
        changed.data["v"] = "2"
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await update(stub, changed, fence=stale)
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Delete(
                api_pb2.DeleteRequest(
                    resource="configmaps", namespace="default", name="c", fence=stale
                )
            )
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        now = await get(stub, "configmaps", "default", "c")
    assert now.data["v"] == "1"
    assert now.metadata.resource_version == made.metadata.resource_version

"""A GET by resourceVersion on a real API server and etcd, over gRPC, REST and the client:
"0" is answered from the watch cache without an etcd read (a kubelet's heartbeat read of
its Node, a quarter of all requests at 1,000 nodes), "" still reads etcd, and a version
that is not a number is refused naming the field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import grpc
import pytest

from client.api import ApiClient
from client.kinds import by_resource, decode
from master.apiserver.objects import object_key
from proto import api_pb2, core_pb2
from tests.integration.apiserver.helpers import configmap, create, stub_for
from tests.support.waiting import eventually

NODES = by_resource("nodes")
NODE_KEY = object_key(NODES, "", "n1")


def etcd_reads(server: Any, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every key the server reads from etcd by a single-key get from now on."""
    reads: list[bytes] = []
    real: Callable[[bytes], Awaitable[Any]] = server.etcd.get

    async def recording(key: bytes) -> Any:
        reads.append(key)
        return await real(key)

    monkeypatch.setattr(server.etcd, "get", recording)
    return reads


async def a_cached_node(server: Any, stub: Any) -> str:
    """Node n1, created, and the revision the nodes cache has reached with it."""
    made = core_pb2.Node(api_version="v1", kind="Node")
    made.metadata.name = "n1"
    version = (await create(stub, made)).metadata.resource_version
    cacher = await server.service.watch_cache.cacher(NODES)
    await eventually(lambda: cacher.revision >= int(version), what="the cache has the node")
    return str(version)


async def get_node(stub: Any, resource_version: str) -> Any:
    request = api_pb2.GetRequest(resource="nodes", name="n1", resource_version=resource_version)
    return decode("nodes", (await stub.Get(request)).object)


async def test_a_get_at_resource_version_0_is_answered_from_the_watch_cache_without_etcd(
    apiserver, monkeypatch
):
    async with stub_for(apiserver.endpoint) as stub:
        version = await a_cached_node(apiserver, stub)
        reads = etcd_reads(apiserver, monkeypatch)
        got = await get_node(stub, "0")
        at_least = await get_node(stub, version)
    assert got.metadata.name == at_least.metadata.name == "n1"
    assert got.metadata.resource_version == version
    assert reads == []


async def test_a_get_at_empty_resource_version_still_reads_etcd(apiserver, monkeypatch):
    async with stub_for(apiserver.endpoint) as stub:
        version = await a_cached_node(apiserver, stub)
        reads = etcd_reads(apiserver, monkeypatch)
        got = await get_node(stub, "")
    assert got.metadata.resource_version == version
    assert reads == [NODE_KEY]


async def test_a_get_at_a_revision_the_cache_has_not_reached_reads_etcd(apiserver, monkeypatch):
    async with stub_for(apiserver.endpoint) as stub:
        version = await a_cached_node(apiserver, stub)
        reads = etcd_reads(apiserver, monkeypatch)
        await get_node(stub, str(int(version) + 1000))
    assert reads == [NODE_KEY]


async def test_the_first_get_at_0_of_a_kind_reads_etcd_and_starts_its_cache_for_the_next(
    apiserver, monkeypatch
):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("settings"))
        reads = etcd_reads(apiserver, monkeypatch)
        request = api_pb2.GetRequest(
            resource="configmaps", namespace="default", name="settings", resource_version="0"
        )
        await stub.Get(request)
        assert len(reads) == 1
        cacher = apiserver.service.watch_cache.cachers["configmaps"]
        await eventually(cacher.ready.is_set, what="the configmaps cache has listed")
        got = decode("configmaps", (await stub.Get(request)).object)
    assert got.metadata.name == "settings"
    assert len(reads) == 1


async def test_the_api_client_asks_for_resource_version_0_and_the_cache_answers(
    apiserver, monkeypatch
):
    async with stub_for(apiserver.endpoint) as stub:
        version = await a_cached_node(apiserver, stub)
    reads = etcd_reads(apiserver, monkeypatch)
    async with ApiClient([apiserver.endpoint]) as api:
        got = await api.get("nodes", "", "n1", resource_version="0")
        missing = await api.get("nodes", "", "n1")
    assert got.metadata.resource_version == missing.metadata.resource_version == version
    assert reads == [NODE_KEY]  # the second GET's, at the newest


async def test_a_resource_version_that_is_not_a_number_is_refused_naming_the_field(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await a_cached_node(apiserver, stub)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await get_node(stub, "x")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == 'resourceVersion: Invalid value: "x"'


async def test_the_rest_get_of_one_object_honours_resource_version(apiserver, monkeypatch):
    async with stub_for(apiserver.endpoint) as stub:
        version = await a_cached_node(apiserver, stub)
    url = f"http://127.0.0.1:{apiserver.status.port}/api/v1/nodes/n1"
    reads = etcd_reads(apiserver, monkeypatch)
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params={"resourceVersion": "0"}) as r:
            assert r.status == 200
            cached = await r.json()
        assert reads == []
        async with session.get(url) as r:
            assert r.status == 200
        assert reads == [NODE_KEY]
        async with session.get(url, params={"resourceVersion": "x"}) as r:
            assert r.status == 422
            refused = await r.json()
    assert cached["metadata"]["resourceVersion"] == version
    assert refused["reason"] == "Invalid"
    assert refused["message"] == 'resourceVersion: Invalid value: "x"'

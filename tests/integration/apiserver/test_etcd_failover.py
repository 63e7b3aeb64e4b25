"""With a three-member etcd, an API server survives the loss of the member it talks to."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest

from client.kinds import by_resource, decode
from proto import api_pb2
from tests.integration.apiserver.helpers import configmap, create, get, list_names, stub_for
from tests.support.apiserver import running_apiserver
from tests.support.etcd import EtcdCluster, start_etcd


@pytest.fixture
def etcd3() -> Iterator[EtcdCluster]:
    cluster = start_etcd(3)
    try:
        yield cluster
    finally:
        cluster.stop()


async def test_requests_continue_on_another_member_when_the_one_in_use_dies(etcd3):
    async with running_apiserver(etcd3.endpoints) as server:
        async with stub_for(server.endpoint) as stub:
            await create(stub, configmap("before"))
            used = next(m for m in etcd3.members if m.endpoint == server.etcd.endpoint)
            etcd3.kill_member(used)
            # Concurrent requests all move over, none is lost to another's fail-over.
            await asyncio.gather(*(create(stub, configmap(f"after-{i}")) for i in range(20)))
            assert (await get(stub, "configmaps", "default", "before")).metadata.uid
            names = await list_names(stub, "configmaps", "default")
            assert sorted(names) == sorted(["before", *(f"after-{i}" for i in range(20))])
        assert server.etcd.endpoint != used.endpoint


async def test_a_watch_from_the_cache_goes_on_across_the_death_of_the_member_in_use(etcd3):
    """The cache's one etcd watch resumes on another member after its revision: the API
    watches it feeds see no break and miss nothing."""
    async with running_apiserver(etcd3.endpoints) as server:
        # The cache lists before the first write, so the watch from it is in its window:
        # made at the watch, its list could come after the server's own writes (the
        # kubernetes Service's endpoints), and the watch went to etcd directly.
        assert await server.service.watch_cache.cacher(by_resource("configmaps"))
        async with stub_for(server.endpoint) as stub:
            start = (await create(stub, configmap("first"))).metadata.resource_version
            watch = stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
            await create(stub, configmap("seen"))
            names = []
            async with asyncio.timeout(10):
                async for event in watch:
                    names.append(decode("configmaps", event.object).metadata.name)
                    break
            used = next(m for m in etcd3.members if m.endpoint == server.etcd.endpoint)
            etcd3.kill_member(used)
            await create(stub, configmap("made-while-failing-over"))
            async with asyncio.timeout(10):
                async for event in watch:
                    names.append(decode("configmaps", event.object).metadata.name)
                    break
            watch.cancel()
    assert names == ["seen", "made-while-failing-over"]


async def test_without_the_cache_a_watch_broken_by_a_dying_member_resumes_losing_nothing(etcd3):
    async with running_apiserver(etcd3.endpoints, watch_cache=False) as server:
        async with stub_for(server.endpoint) as stub:
            start = (await create(stub, configmap("first"))).metadata.resource_version
            watch = stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
            await create(stub, configmap("seen"))
            last = ""
            async with asyncio.timeout(10):
                async for event in watch:
                    last = event.resource_version
                    break
            used = next(m for m in etcd3.members if m.endpoint == server.etcd.endpoint)
            etcd3.kill_member(used)
            with pytest.raises(grpc.aio.AioRpcError) as e:
                async with asyncio.timeout(10):
                    async for _ in watch:
                        pass
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
            await create(stub, configmap("missed-while-down"))
            resumed = stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=last))
            names = []
            async with asyncio.timeout(10):
                async for event in resumed:
                    names.append(decode("configmaps", event.object).metadata.name)
                    break
            resumed.cancel()
    assert names == ["missed-while-down"]


async def test_a_watch_on_a_connection_retired_by_a_fail_over_ends_as_unavailable(etcd3):
    """After a fail-over (e.g. "leader changed") the old etcd connection is closed a little
    later; a watch still open on it must end as UNAVAILABLE, never go silent. (The direct
    path, which serves watches older than the cache's window.)"""
    async with running_apiserver(etcd3.endpoints, watch_cache=False) as server:
        server.etcd.timeout = 0.2  # retire the old connection quickly
        async with stub_for(server.endpoint) as stub:
            start = (await create(stub, configmap("first"))).metadata.resource_version
            watch = stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
            await create(stub, configmap("seen"))
            async with asyncio.timeout(10):
                async for _ in watch:
                    break
            old = await server.etcd._connected()
            await server.etcd._fail_over(old, grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(),
                details="etcdserver: leader changed",
                debug_error_string="",
            ))
            with pytest.raises(grpc.aio.AioRpcError) as e:
                async with asyncio.timeout(10):
                    async for _ in watch:
                        pass
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "retired" in (e.value.details() or "")

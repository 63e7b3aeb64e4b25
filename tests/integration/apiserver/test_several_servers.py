"""Several API servers on one etcd are all active; an etcd list fails over to a live member."""

from __future__ import annotations

from typing import Any

from client.kinds import decode
from client.timeouts import within
from proto import api_pb2
from tests.integration.apiserver.helpers import configmap, create, get, stub_for, update
from tests.support.ports import free_port


async def test_two_api_servers_on_one_etcd_see_each_others_writes(apiserver_factory):
    one = await apiserver_factory.start(name="one")
    two = await apiserver_factory.start(name="two")
    async with stub_for(one.endpoint) as a, stub_for(two.endpoint) as b:
        start = (await create(a, configmap("first"))).metadata.resource_version
        watch = b.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
        made = await create(a, configmap("shared", v="1"))
        seen = await get(b, "configmaps", "default", "shared")
        assert seen.metadata.uid == made.metadata.uid
        seen.data["v"] = "2"
        await update(b, seen)
        assert (await get(a, "configmaps", "default", "shared")).data["v"] == "2"
        events = []

        async def read() -> None:
            async for event in watch:
                cm: Any = decode("configmaps", event.object)
                events.append((event.type, cm.data["v"]))
                if len(events) == 2:
                    return

        await within(read(), 10)
        watch.cancel()
    assert events == [("ADDED", "1"), ("MODIFIED", "2")]


async def test_an_api_server_uses_the_next_etcd_endpoint_when_the_first_is_down(etcd_clean):
    from tests.support.apiserver import running_apiserver

    dead = f"127.0.0.1:{free_port()}"
    async with running_apiserver([dead, etcd_clean.endpoint]) as server:
        async with stub_for(server.endpoint) as stub:
            await create(stub, configmap("c"))
            assert (await get(stub, "configmaps", "default", "c")).metadata.uid
        assert server.etcd.endpoint == etcd_clean.endpoint

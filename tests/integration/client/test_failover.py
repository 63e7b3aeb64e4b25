"""Three API servers; the one a client is using is SIGKILLed mid-watch. Nothing is lost."""

from __future__ import annotations

import asyncio

import pytest

from client import errors, kinds
from client.api import ApiClient, ClientOptions
from client.informer import Informer
from client.kinds import Object
from proto import core_pb2
from tests.conftest import ApiServerFactory
from tests.support.waiting import eventually

OBJECTS = 30
KILL_AFTER = 10


def configmap(name: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name = name
    cm.metadata.namespace = "default"
    return cm


@pytest.mark.slow
async def test_killing_the_api_server_in_use_mid_watch_loses_no_event(
    apiserver_factory: ApiServerFactory,
) -> None:
    servers = [apiserver_factory.start_process(name=f"apiserver-{i}") for i in range(3)]
    by_endpoint = {s.endpoint: s for s in servers}
    options = ClientOptions(spread=False, backoff_base=0.02, backoff_cap=0.5)
    async with ApiClient([s.endpoint for s in servers], options) as client:
        informer = Informer[core_pb2.ConfigMap](client, "configmaps", namespace="default")
        seen: list[tuple[str, str]] = []

        def on_add(obj: Object) -> None:
            seen.append(("add", obj.metadata.name))

        def on_other(*objs: Object) -> None:
            seen.append(("other", objs[-1].metadata.name))

        informer.add_handler(on_add=on_add, on_update=on_other, on_delete=on_other)
        informer.start()
        try:
            assert await informer.wait_synced(10)
            names = [f"cm{i:02d}" for i in range(OBJECTS)]

            async def write() -> None:
                for name in names:
                    try:
                        await client.create(configmap(name))
                    except errors.AlreadyExists:
                        pass  # a create retried across the kill had landed (documented)

            writer = asyncio.create_task(write())
            # Mid-watch and mid-writing: kill once the informer has seen a third.
            await eventually(lambda: len(seen) >= KILL_AFTER, what="the first events")
            victim = by_endpoint[client.endpoint]
            victim.kill()
            await asyncio.wait_for(writer, 60)
            assert client.endpoint != victim.endpoint
            await eventually(
                lambda: len(seen) >= OBJECTS, timeout=30, what=f"{OBJECTS} events, have {seen}"
            )
            assert seen == [("add", name) for name in names], "each event once, in order"
            listed = await client.list_all("configmaps", "default")
            assert {kinds.key(o): o.metadata.resource_version for o in listed.items} == {
                kinds.key(o): o.metadata.resource_version for o in informer.list(copy=False)
            }
            got = await client.get("configmaps", "default", names[0])
            assert got.metadata.name == names[0]
        finally:
            await informer.stop()


async def test_calls_wait_for_the_only_api_server_to_come_back(
    apiserver_factory: ApiServerFactory,
) -> None:
    server = apiserver_factory.start_process(name="only")
    options = ClientOptions(retry_deadline=1.0)
    async with ApiClient([server.endpoint], options) as client:
        await client.create(configmap("a"))
        server.kill()
        # Failed calls while it is down push grpc's reconnection back-off up.
        for _ in range(3):
            with pytest.raises(errors.Unavailable):
                await client.get("configmaps", "default", "a")
        server.launch()
        server.wait_ready()
        got = await client.get("configmaps", "default", "a")
        assert got.metadata.name == "a"
        cm = configmap("")
        cm.metadata.generate_name = "gen-"
        assert (await client.create(cm)).metadata.name.startswith("gen-")

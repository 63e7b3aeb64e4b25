"""Three API servers; the one a client is using is SIGKILLed mid-watch. Nothing is lost."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest

from client import errors, kinds
from client.api import ApiClient, ClientOptions
from client.informer import Informer
from client.kinds import Object
from client.timeouts import within
from master.apiserver.server import ApiServer
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

            killed = asyncio.Event()

            async def write() -> None:
                for i, name in enumerate(names):
                    if i == 2 * KILL_AFTER:
                        # The rest is written only after the kill: on a loaded machine the
                        # writer once finished before the informer saw a third, and no
                        # request was left to fail over.
                        await killed.wait()
                    try:
                        await client.create(configmap(name))
                    except errors.AlreadyExists:
                        pass  # a create retried across the kill had landed (documented)

            writer = asyncio.create_task(write())
            # Mid-watch and mid-writing: kill once the informer has seen a third.
            await eventually(lambda: len(seen) >= KILL_AFTER, what="the first events")
            victim = by_endpoint[client.endpoint]
            victim.kill()
            killed.set()
            await within(writer, 60)
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


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A loopback port that accepts connections and never answers: a partitioned server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


async def test_a_server_that_never_answers_is_left_for_the_next(
    apiserver: ApiServer, black_hole: str
) -> None:
    options = ClientOptions(spread=False, timeout=0.5, watch_idle_timeout=0.5)
    async with ApiClient([black_hole, apiserver.endpoint], options) as client:
        start = await client.create(configmap("start"))  # a named create: retried
        assert client.endpoint == apiserver.endpoint
        client._current = 0  # back to the black hole, for the watch this time
        events = client.watch(
            "configmaps", resource_version=start.metadata.resource_version, allow_bookmarks=True
        )
        try:
            waiting = asyncio.ensure_future(anext(events))
            await eventually(lambda: client.endpoint == apiserver.endpoint, what="the watch moved")
            await client.create(configmap("after"))
            event = await within(waiting, 10)
        finally:
            await events.aclose()  # type: ignore[attr-defined]
        assert event.object is not None and event.object.metadata.name == "after"


class FreezingProxy:
    """A loopback TCP proxy that can go silent without closing anything: a partition."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.frozen = False
        self.endpoint = ""
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.endpoint = f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = self.upstream.split(":")
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self._writers += [writer, up_writer]
        await asyncio.gather(
            self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
        )

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Ends when either side closes; frozen bytes are swallowed, never delivered.
        while data := await reader.read(65536):
            if not self.frozen:
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.fixture
async def partitionable(apiserver: ApiServer) -> AsyncIterator[FreezingProxy]:
    proxy = FreezingProxy(apiserver.endpoint)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def test_a_partition_mid_watch_is_noticed_and_the_watch_moves_on(
    apiserver: ApiServer, partitionable: FreezingProxy
) -> None:
    options = ClientOptions(spread=False, timeout=1.0, watch_idle_timeout=0.5)
    async with (
        ApiClient([partitionable.endpoint, apiserver.endpoint], options) as client,
        ApiClient([apiserver.endpoint]) as writer,
    ):
        start = await client.create(configmap("start"))
        assert client.endpoint == partitionable.endpoint
        events = client.watch(
            "configmaps", resource_version=start.metadata.resource_version, allow_bookmarks=True
        )
        try:
            await writer.create(configmap("before"))
            first = await within(anext(events), 10)
            partitionable.frozen = True
            await writer.create(configmap("during"))
            second = await within(anext(events), 10)
        finally:
            await events.aclose()  # type: ignore[attr-defined]
        assert client.endpoint == apiserver.endpoint
        names = [e.object.metadata.name for e in (first, second) if e.object is not None]
        assert names == ["before", "during"]
        got = await client.get("configmaps", "default", "during")
        assert got.metadata.name == "during"


async def test_a_read_from_a_partitioned_server_times_out_and_fails_over(
    apiserver: ApiServer, partitionable: FreezingProxy
) -> None:
    options = ClientOptions(spread=False, timeout=0.5)
    async with ApiClient([partitionable.endpoint, apiserver.endpoint], options) as client:
        await client.create(configmap("a"))
        partitionable.frozen = True
        got = await client.get("configmaps", "default", "a")
        assert got.metadata.name == "a"
        assert client.endpoint == apiserver.endpoint


class Resetting(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """A server that resets every call, as a stopping gRPC server resets the streams it
    had not taken up yet (the client sees CANCELLED)."""

    def service(self, handler_call_details: Any) -> Any:
        async def reset(_request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            await context.abort(grpc.StatusCode.CANCELLED, "Received RST_STREAM with error code 8")
            return b""

        return grpc.unary_unary_rpc_method_handler(reset)


@pytest.fixture
async def resetting() -> AsyncIterator[str]:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((Resetting(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


async def test_calls_reset_by_a_stopping_server_are_retried_on_the_next(
    apiserver: ApiServer, resetting: str
):
    async with ApiClient([apiserver.endpoint]) as setup:
        await setup.create(configmap("here"))
    async with ApiClient([resetting, apiserver.endpoint]) as client:
        got = await client.get("configmaps", "default", "here")
        made = await client.create(configmap("made-after-a-reset"))
    assert got.metadata.name == "here"
    assert made.metadata.name == "made-after-a-reset"


async def test_many_concurrent_calls_ride_out_an_api_server_restart(
    apiserver_factory: ApiServerFactory,
) -> None:
    """Twenty calls at once while the only server is down, as the informers of a
    controller manager that starts before its API server: every one succeeds once it
    is back, whichever channel each was on when the client redialled."""
    server = apiserver_factory.start_process(name="restarting")
    options = ClientOptions(retry_deadline=30.0, max_retries=1000)
    async with ApiClient([server.endpoint], options) as client:
        await client.create(configmap("a"))
        server.kill()
        calls = [asyncio.create_task(client.get("configmaps", "default", "a")) for _ in range(20)]
        done, _ = await asyncio.wait(calls, timeout=2.0)
        assert not done, "the calls should be waiting for the server"
        server.launch()
        server.wait_ready()
        got = await asyncio.gather(*calls)
        assert {cm.metadata.name for cm in got} == {"a"}

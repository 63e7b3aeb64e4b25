"""The TCP and UDP data path on loopback, under uvloop (as tug-proxy runs) and asyncio.

No API server here: listeners are given a balancer directly, so the event loop is the
only thing that varies (uvloop's transports are not asyncio's classes, and deliver data
at other moments).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from proxy.balancer import Balancer
from proxy.served import ServedPort
from proxy.table import Backend
from proxy.tcp import TcpListener
from proxy.udp import UdpListener

LOOPS = ["asyncio"]
try:
    import uvloop

    LOOPS.append("uvloop")
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]


def run(loop: str, scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    if loop == "uvloop":
        return uvloop.run(scenario())
    return asyncio.run(scenario())


async def _tcp_listener(backends: list[Backend], ip: str = "127.0.0.41") -> TcpListener:
    balancer = Balancer()
    balancer.update(backends, None)
    listener = TcpListener(ip, 0, ServedPort("test/svc", balancer, connect_timeout=1.0))
    await listener.start()
    assert listener._server is not None
    listener.number = int(listener._server.sockets[0].getsockname()[1])
    return listener


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


async def _through_proxy(
    backend: Handler,
) -> tuple[asyncio.Server, TcpListener, asyncio.StreamReader, asyncio.StreamWriter]:
    """A backend on 127.0.0.42, a listener for it on 127.0.0.41, and a client connected."""
    server = await asyncio.start_server(backend, "127.0.0.42", 0)
    port = int(server.sockets[0].getsockname()[1])
    listener = await _tcp_listener([Backend("127.0.0.42", port)])
    reader, writer = await asyncio.open_connection("127.0.0.41", listener.number)
    return server, listener, reader, writer


@pytest.mark.parametrize("loop", LOOPS)
def test_bytes_cross_intact_both_ways_with_a_half_close(loop: str) -> None:
    payload = os.urandom(8 * 1024 * 1024)

    async def scenario() -> tuple[str, str]:
        async def backend(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            data = await reader.read()  # until the client's half-close
            writer.write(hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
            await writer.drain()
            writer.close()

        server, listener, reader, writer = await _through_proxy(backend)
        writer.write(payload)  # sent at once: it may arrive before the endpoint is connected
        writer.write_eof()
        digest = (await reader.readline()).decode().strip()
        echoed = await reader.read()
        writer.close()
        await listener.stop()
        server.close()
        return digest, hashlib.sha256(echoed).hexdigest()

    digest, echoed = run(loop, scenario)
    expected = hashlib.sha256(payload).hexdigest()
    assert digest == expected, "client to endpoint"
    assert echoed == expected, "endpoint to client"


@pytest.mark.parametrize("loop", LOOPS)
def test_a_connection_is_reset_when_every_endpoint_refuses(loop: str) -> None:
    async def scenario() -> BaseException | bytes:
        dead = Backend("127.0.0.43", 1)  # nothing listens on port 1
        listener = await _tcp_listener([dead])
        reader, writer = await asyncio.open_connection("127.0.0.41", listener.number)
        try:
            async with asyncio.timeout(5):
                return await reader.read()
        except ConnectionResetError as e:
            return e
        finally:
            writer.close()
            await listener.stop()

    outcome = run(loop, scenario)
    assert isinstance(outcome, ConnectionResetError), f"not reset: {outcome!r}"


@pytest.mark.parametrize("loop", LOOPS)
def test_a_short_exchange_keeps_small_buffers_with_nagle_off_and_bulk_grows_them(loop: str) -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(1 << 20):
                writer.write(data)
                await writer.drain()
            writer.close()

        server, listener, reader, writer = await _through_proxy(echo)
        try:
            writer.write(b"ping\n")
            assert await reader.readline() == b"ping\n"
            (conn,) = listener.connections
            assert conn.upstream is not None
            short = [len(conn.client._buffer), len(conn.upstream._buffer)]
            for side in (conn.client, conn.upstream):
                # The proxy relies on the event loop for it: small writes go out at once.
                assert side.transport is not None
                sock = side.transport.get_extra_info("socket")
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), "Nagle is on"
            bulk = os.urandom(4 * 1024 * 1024)
            writer.write(bulk)
            assert await reader.readexactly(len(bulk)) == bulk
            return short, [len(conn.client._buffer), len(conn.upstream._buffer)]
        finally:
            writer.close()
            await listener.stop()
            server.close()

    short, bulk = run(loop, scenario)
    assert max(short) <= 16 * 1024, f"a few bytes took large buffers: {short}"
    assert bulk == [256 * 1024] * 2, f"a bulk flow kept reading in small chunks: {bulk}"


@pytest.mark.parametrize("loop", LOOPS)
def test_udp_replies_return_to_the_client_from_the_service_address(loop: str) -> None:
    async def scenario() -> tuple[bytes, Any]:
        running = asyncio.get_running_loop()

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                self.transport.sendto(b"echo:" + data, addr)

        echo, _ = await running.create_datagram_endpoint(Echo, local_addr=("127.0.0.44", 0))
        port = echo.get_extra_info("sockname")[1]
        balancer = Balancer()
        balancer.update([Backend("127.0.0.44", port)], None)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.45", 0))
            number = probe.getsockname()[1]
        listener = UdpListener("127.0.0.45", number, ServedPort("test/udp", balancer))
        await listener.start()
        got: asyncio.Future[tuple[bytes, Any]] = running.create_future()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                if not got.done():
                    got.set_result((data, addr))

        client, _ = await running.create_datagram_endpoint(
            Client, remote_addr=("127.0.0.45", number)
        )
        client.sendto(b"hi")
        try:
            async with asyncio.timeout(5):
                return await got
        finally:
            client.close()
            await listener.stop()
            echo.close()

    data, source = run(loop, scenario)
    assert data == b"echo:hi"
    assert source[0] == "127.0.0.45"

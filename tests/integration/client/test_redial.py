"""A server that comes back is reached at once, not after grpc's reconnection back-off.

grpc waits up to about a second between connection attempts to an address that refused
it; a call with a shorter deadline, made just after the server came back, would fail. The
client drops such a channel and dials again.
"""

from __future__ import annotations

import asyncio
import socket

import grpc
import grpc.aio
import pytest

from client.api import ClientOptions, _Endpoint
from proto import api_pb2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_channel_backing_off_is_redialled_and_reaches_the_returned_server_at_once() -> None:
    address = f"127.0.0.1:{free_port()}"
    endpoint = _Endpoint(address, ClientOptions())
    loop = asyncio.get_running_loop()
    # Refused attempts for 3 s push grpc's back-off to its 1 s ceiling.
    refused_until = loop.time() + 3.0
    for _ in range(100):
        if loop.time() > refused_until:
            break
        assert not await endpoint.connected(0.2, patient=True)
    assert endpoint.channel.get_state() == grpc.ChannelConnectivity.TRANSIENT_FAILURE
    server = grpc.aio.server()
    server.add_insecure_port(address)
    await server.start()
    try:
        await endpoint.redial()
        assert await endpoint.connected(0.3, patient=True)
    finally:
        await endpoint.close()
        await server.stop(None)


async def test_a_healthy_channel_is_never_redialled() -> None:
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    endpoint = _Endpoint(f"127.0.0.1:{port}", ClientOptions())
    try:
        assert await endpoint.connected(2.0)
        channel = endpoint.channel
        endpoint._dialed_at -= 60  # past the redial interval: only the state decides
        await endpoint.redial()
        assert endpoint.channel is channel
    finally:
        await endpoint.close()
        await server.stop(None)


async def test_a_call_that_took_the_replaced_channel_fails_over_as_unavailable() -> None:
    """Another call may hold the old channel's method when it is replaced: its call must
    fail as a connection failure (which is retried), never as a closed channel."""
    address = f"127.0.0.1:{free_port()}"
    endpoint = _Endpoint(address, ClientOptions())
    try:
        assert not await endpoint.connected(0.5, patient=True)
        held = endpoint.unary("Get", api_pb2.ObjectResponse)
        endpoint._dialed_at -= 60
        await endpoint.redial()
        assert endpoint.unary("Get", api_pb2.ObjectResponse) is not held
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await held(api_pb2.GetRequest(resource="configmaps", name="x"), timeout=2)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await endpoint.close()

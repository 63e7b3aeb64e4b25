"""`pods/NAME/portforward`: kubectl's port forwarding, ended in the API server.

kubectl 1.32 opens a WebSocket with the subprotocol `SPDY/3.1+portforward.k8s.io` and runs
a SPDY session inside it (master/apiserver/rest/spdy.py). For every local connection it
opens two streams sharing a `requestid`: an error stream, on which the server writes why
forwarding failed (nothing when it did not), and a data stream carrying the bytes. Both
name the pod's `port`. Each stream is answered with a SYN_REPLY at once, as kubectl waits
for it; each data stream becomes one node-agent PortForward call to the pod's kubelet,
which connects to the port and relays until either side closes.

Streams of one session run side by side; the session ends when kubectl closes the
WebSocket (or sends GOAWAY), and every relay still running is cancelled with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from aiohttp import WSMsgType, web

from client import errors
from master.apiserver import nodeagents
from master.apiserver.nodeagents import pod_agent
from master.apiserver.registry import Registry
from master.apiserver.rest import spdy
from proto import nodeagent_pb2, nodeagent_pb2_grpc

log = structlog.get_logger("apiserver.rest.portforward")

PROTOCOL = "SPDY/3.1+portforward.k8s.io"
_CHUNK = 32 * 1024


@dataclass
class _Forward:
    """One forwarded connection: its two streams and the bytes bound for the pod."""

    port: int
    error_stream: int = 0
    data_stream: int = 0
    to_pod: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class _Session:
    def __init__(self, ws: web.WebSocketResponse, target: str, namespace: str, name: str) -> None:
        self.ws = ws
        self.target = target
        self.key = f"{namespace}/{name}"
        self.namespace = namespace
        self.name = name
        self.reader = spdy.FrameReader()
        self.writer = spdy.FrameWriter()
        self.forwards: dict[str, _Forward] = {}
        self.by_stream: dict[int, _Forward] = {}
        self.last_stream = 0

    async def send(self, frame: bytes) -> None:
        if not self.ws.closed:
            await self.ws.send_bytes(frame)

    async def run(self, channel: grpc.aio.Channel) -> None:
        stub: Any = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY:
                    continue
                for frame in self.reader.feed(msg.data):
                    if not await self.handle(frame, stub):
                        return
        finally:
            for forward in self.forwards.values():
                if forward.task is not None:
                    forward.task.cancel()
            for forward in self.forwards.values():
                if forward.task is not None:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await forward.task

    async def handle(self, frame: spdy.Frame, stub: Any) -> bool:
        """Act on one frame; False when the client ends the session."""
        if frame.kind == spdy.SYN_STREAM:
            self.last_stream = max(self.last_stream, frame.stream_id)
            await self.send(self.writer.syn_reply(frame.stream_id))
            await self.open(frame, stub)
        elif frame.kind == 0:
            forward = self.by_stream.get(frame.stream_id)
            if forward is not None and frame.stream_id == forward.data_stream:
                if frame.data:
                    forward.to_pod.put_nowait(frame.data)
                if frame.fin:
                    forward.to_pod.put_nowait(None)
        elif frame.kind == spdy.RST_STREAM:
            forward = self.by_stream.get(frame.stream_id)
            if forward is not None and forward.task is not None:
                forward.task.cancel()
        elif frame.kind == spdy.PING:
            await self.send(spdy.ping(frame.stream_id))  # a PING's id, echoed
        elif frame.kind == spdy.GOAWAY:
            return False
        return True

    async def open(self, frame: spdy.Frame, stub: Any) -> None:
        kind, request = frame.header("streamtype"), frame.header("requestid")
        try:
            port = int(frame.header("port"))
        except ValueError:
            port = 0
        forward = self.forwards.setdefault(request, _Forward(port))
        self.by_stream[frame.stream_id] = forward
        if kind == "error":
            forward.error_stream = frame.stream_id
        elif kind == "data":
            forward.data_stream = frame.stream_id
        else:
            await self.send(spdy.rst_stream(frame.stream_id, spdy.RST_PROTOCOL_ERROR))
            return
        if forward.error_stream and forward.data_stream and forward.task is None:
            forward.task = asyncio.create_task(self.relay(forward, stub))

    async def relay(self, forward: _Forward, stub: Any) -> None:
        start = nodeagent_pb2.PortForwardStart(
            namespace=self.namespace, pod=self.name, port=forward.port
        )

        async def upstream() -> AsyncIterator[nodeagent_pb2.PortForwardInput]:
            yield nodeagent_pb2.PortForwardInput(start=start)
            while (chunk := await forward.to_pod.get()) is not None:
                yield nodeagent_pb2.PortForwardInput(data=chunk)

        problem = ""
        call = stub.PortForward(upstream())
        try:
            async for out in call:
                for i in range(0, len(out.data), _CHUNK):
                    await self.send(spdy.data(forward.data_stream, out.data[i : i + _CHUNK]))
        except grpc.aio.AioRpcError as e:
            problem = (
                f"error forwarding port {forward.port} to pod {self.key}: "
                f"{errors.from_grpc(e).message}"
            )
            log.info("port forward failed", key=self.key, port=forward.port, error=problem)
        finally:
            call.cancel()
        if problem:
            await self.send(spdy.data(forward.error_stream, problem.encode()))
        await self.send(spdy.data(forward.data_stream, b"", fin=True))
        await self.send(spdy.data(forward.error_stream, b"", fin=True))


async def forward(
    request: web.Request, registry: Registry, namespace: str, name: str
) -> web.StreamResponse:
    """`GET .../pods/NAME/portforward` upgraded to a WebSocket (see the module docstring)."""
    target = await pod_agent(registry, namespace, name)
    ws = web.WebSocketResponse(protocols=(PROTOCOL,), heartbeat=30.0)
    if ws.can_prepare(request).protocol != PROTOCOL:
        raise errors.BadRequest(
            f"port forwarding needs a WebSocket with the subprotocol {PROTOCOL}"
        )
    await ws.prepare(request)
    log.info("port forward session", key=f"pods/{namespace}/{name}", node=target)
    session = _Session(ws, target, namespace, name)
    try:
        async with nodeagents.dial(target) as channel:
            await session.run(channel)
        await session.send(spdy.goaway(session.last_stream))
    except ConnectionResetError:
        pass
    finally:
        await ws.close()
    return ws

"""`pods/log`, `pods/exec` and `pods/attach` over HTTP, relayed to the kubelet's node-agent
gRPC service.

- `log` is plain chunked text, as kubectl reads it (`container`, `follow`, `tailLines`,
  `sinceSeconds`, `previous`, `timestamps`).
- `exec` is a WebSocket speaking Kubernetes' channel protocol, `v5.channel.k8s.io` with
  `v4.channel.k8s.io` as fallback (what kubectl 1.32 tries first): every binary message
  starts with its channel (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize); the error
  channel carries the final `Status`, whose `ExitCode` cause is how the command's exit code
  reaches kubectl; v5 adds the close signal (255, channel) with which a client ends stdin.
- `attach` speaks exec's channels to the container's own process (new output only, its
  stdin when the container keeps one open with `stdin: true`).

The relay is the same node-agent call the gRPC NodeProxy makes, so `tug logs` and
`kubectl logs` read the same stream. Everything that can be refused (no such pod, no node
yet) is refused before the response starts, as a Status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import structlog
from aiohttp import WSMsgType, web

from client import errors
from master.apiserver import nodeagents
from master.apiserver.nodeagents import pod_agent
from master.apiserver.registry import Registry
from proto import nodeagent_pb2, nodeagent_pb2_grpc

log = structlog.get_logger("apiserver.rest.podstreams")

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")


def _stub(channel: grpc.aio.Channel) -> Any:
    return nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]


async def logs(
    request: web.Request, registry: Registry, namespace: str, name: str
) -> web.StreamResponse:
    """`GET .../pods/NAME/log`: the container's log as plain text, followed if asked."""
    q = request.query
    ask = nodeagent_pb2.LogsRequest(
        namespace=namespace,
        pod=name,
        container=q.get("container", ""),
        follow=_flag(request, "follow"),
        previous=_flag(request, "previous"),
        timestamps=_flag(request, "timestamps"),
    )
    for param in ("tailLines", "sinceSeconds"):
        if param in q:
            try:
                if int(q[param]) < (0 if param == "tailLines" else 1):
                    raise ValueError
            except ValueError:
                raise errors.Invalid(
                    f"{param}: Invalid value: {q[param]!r}: must be a "
                    + ("non-negative" if param == "tailLines" else "positive")
                    + " integer"
                ) from None
    if "sinceSeconds" in q:
        ask.since_seconds = int(q["sinceSeconds"])
    if "tailLines" in q:
        ask.tail_lines = int(q["tailLines"])
    target = await pod_agent(registry, namespace, name)
    log.info("logs", key=f"pods/{namespace}/{name}", node=target, follow=ask.follow)
    async with nodeagents.dial(target) as channel:
        call = _stub(channel).Logs(ask)
        try:
            # The first chunk (or the kubelet's refusal) before the 200 goes out.
            first = await anext(aiter(call), None)
        except grpc.aio.AioRpcError as e:
            raise errors.from_grpc(e) from None
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        try:
            if first is not None:
                await response.write(first.data)
                async for chunk in call:
                    await response.write(chunk.data)
        except (grpc.aio.AioRpcError, ConnectionResetError):
            pass  # the kubelet or the client went away: the stream just ends
        finally:
            call.cancel()
    return response


def _exit_status(code: int) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


async def execute(
    request: web.Request, registry: Registry, namespace: str, name: str
) -> web.StreamResponse:
    """`GET .../pods/NAME/exec` upgraded to a WebSocket (see the module docstring)."""
    q = request.query
    command = q.getall("command", [])
    if not command:
        raise errors.Invalid("command: Required value: you must specify at least 1 command")
    start = nodeagent_pb2.ExecStart(
        namespace=namespace,
        pod=name,
        container=q.get("container", ""),
        command=command,
        stdin=_flag(request, "stdin"),
        tty=_flag(request, "tty"),
    )
    return await _channels(request, registry, start, "Exec")


async def attach(
    request: web.Request, registry: Registry, namespace: str, name: str
) -> web.StreamResponse:
    """`GET .../pods/NAME/attach`: exec's channels, joined to the container's own process."""
    start = nodeagent_pb2.ExecStart(
        namespace=namespace,
        pod=name,
        container=request.query.get("container", ""),
        stdin=_flag(request, "stdin"),
        tty=_flag(request, "tty"),
    )
    return await _channels(request, registry, start, "Attach")


async def _channels(
    request: web.Request, registry: Registry, start: nodeagent_pb2.ExecStart, rpc: str
) -> web.StreamResponse:
    namespace, name = start.namespace, start.pod
    command = list(start.command)
    target = await pod_agent(registry, namespace, name)
    ws = web.WebSocketResponse(protocols=PROTOCOLS, heartbeat=30.0)
    await ws.prepare(request)
    v5 = ws.ws_protocol == PROTOCOLS[0]
    log.info(rpc.lower(), key=f"pods/{namespace}/{name}", node=target, command=command)
    inputs: asyncio.Queue[nodeagent_pb2.ExecInput | None] = asyncio.Queue()

    async def upstream() -> AsyncIterator[nodeagent_pb2.ExecInput]:
        yield nodeagent_pb2.ExecInput(start=start)
        while (item := await inputs.get()) is not None:
            yield item

    async def read_client() -> None:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, data = msg.data[0], msg.data[1:]
            if channel == STDIN and data:
                await inputs.put(nodeagent_pb2.ExecInput(stdin=bytes(data)))
            elif channel == CLOSE and v5 and data[:1] == bytes([STDIN]):
                await inputs.put(nodeagent_pb2.ExecInput(close_stdin=True))
        await inputs.put(None)

    reading = asyncio.create_task(read_client())
    status: dict[str, Any] = {}
    try:
        async with nodeagents.dial(target) as channel:
            call = getattr(_stub(channel), rpc)(upstream())
            try:
                async for out in call:
                    which = out.WhichOneof("output")
                    if which == "stdout":
                        await ws.send_bytes(bytes([STDOUT]) + out.stdout)
                    elif which == "stderr":
                        await ws.send_bytes(bytes([STDERR]) + out.stderr)
                    elif which == "exit_code":
                        status = _exit_status(out.exit_code)
            except grpc.aio.AioRpcError as e:
                failed = errors.from_grpc(e)
                status = {
                    "metadata": {},
                    "status": "Failure",
                    "message": failed.message,
                    "reason": failed.reason,
                }
        await ws.send_bytes(bytes([ERROR]) + json.dumps(status or _exit_status(0)).encode())
    except ConnectionResetError:
        pass
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reading
        await ws.close()
    return ws

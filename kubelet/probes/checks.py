"""One probe attempt of each handler kind, with Kubernetes' result messages.

Each check returns a `Outcome`; a failure's message is what Kubernetes would print after
"Liveness probe failed: ", so users who know Kubernetes read familiar text.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ParamSpec

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from client.timeouts import within
from kubelet.runtime.interface import ContainerRuntime, RuntimeFailure
from proto import core_pb2, meta_pb2

P = ParamSpec("P")


@dataclass(frozen=True)
class Outcome:
    """The result of one probe attempt."""

    success: bool
    message: str = ""


class ProbeConfigError(ValueError):
    """The probe names a port or handler that cannot be resolved."""


def resolve_port(port: meta_pb2.IntOrString, container: core_pb2.Container, field: str) -> int:
    """An IntOrString port: a number, or the name of one of the container's ports."""
    which = port.WhichOneof("value")
    if which == "int_val":
        return int(port.int_val)
    if which == "str_val":
        name = port.str_val
        if name.isdigit():
            return int(name)
        for p in container.ports:
            if p.name == name:
                return int(p.container_port)
        raise ProbeConfigError(f"{field}: container {container.name} has no port named {name!r}")
    raise ProbeConfigError(f"{field}: port is required")


def _target(
    action: core_pb2.HTTPGetAction | core_pb2.TCPSocketAction,
    container: core_pb2.Container,
    pod_ip: str,
    field: str,
) -> tuple[str, int]:
    """Where a network check connects: the action's host (else the pod IP) and port."""
    return action.host or pod_ip, resolve_port(action.port, container, field)


def _config_errors_fail(
    check: Callable[P, Awaitable[Outcome]],
) -> Callable[P, Awaitable[Outcome]]:
    """A check whose port cannot be resolved fails with the reason instead of raising:
    a bad probe spec fails the probe, never the worker that runs it."""

    @functools.wraps(check)
    async def run(*args: P.args, **kwargs: P.kwargs) -> Outcome:
        try:
            return await check(*args, **kwargs)
        except ProbeConfigError as e:
            return Outcome(False, str(e))

    return run


@_config_errors_fail
async def http_get(
    action: core_pb2.HTTPGetAction,
    container: core_pb2.Container,
    pod_ip: str,
    timeout: float,
    *,
    any_status: bool = False,
) -> Outcome:
    """GET the URL; 200-399 is success, as in Kubernetes, or any answer with `any_status`
    (a lifecycle hook's GET fails only when no answer comes)."""
    host, port = _target(action, container, pod_ip, "httpGet.port")
    scheme = (action.scheme or "HTTP").lower()
    path = action.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{host}:{port}{path}"
    headers = {"Host": f"{host}:{port}", "User-Agent": "kube-probe/1.30", "Accept": "*/*"}
    for h in action.http_headers:
        headers[h.name] = h.value
    headers["Connection"] = "close"
    request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    ctx: ssl.SSLContext | None = None
    if scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

    async def attempt() -> Outcome:
        reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
        try:
            writer.write((request + "\r\n").encode())
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
        parts = status_line.decode("latin-1").split()
        if len(parts) < 2 or not parts[1].isdigit():
            return Outcome(False, f'Get "{url}": malformed HTTP response {status_line[:40]!r}')
        code = int(parts[1])
        if 200 <= code < 400 or any_status:
            return Outcome(True)
        return Outcome(False, f"HTTP probe failed with statuscode: {code}")

    try:
        return await within(attempt(), timeout)
    except TimeoutError:
        return Outcome(
            False,
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded '
            "while awaiting headers)",
        )
    except ConnectionRefusedError:
        return Outcome(False, f'Get "{url}": dial tcp {host}:{port}: connect: connection refused')
    except OSError as e:
        return Outcome(False, f'Get "{url}": {e.strerror or e}')


@_config_errors_fail
async def tcp_socket(
    action: core_pb2.TCPSocketAction, container: core_pb2.Container, pod_ip: str, timeout: float
) -> Outcome:
    """Success when a TCP connection opens."""
    host, port = _target(action, container, pod_ip, "tcpSocket.port")
    try:
        _, writer = await within(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return Outcome(False, f"dial tcp {host}:{port}: i/o timeout")
    except ConnectionRefusedError:
        return Outcome(False, f"dial tcp {host}:{port}: connect: connection refused")
    except OSError as e:
        return Outcome(False, f"dial tcp {host}:{port}: {e.strerror or e}")
    writer.close()
    return Outcome(True)


async def exec_command(
    action: core_pb2.ExecAction, runtime: ContainerRuntime, container_id: str, timeout: float
) -> Outcome:
    """Success when the command exits 0 inside the container."""
    try:
        result = await runtime.exec_run(container_id, list(action.command), timeout)
    except TimeoutError:
        return Outcome(False, f"command {list(action.command)!r} timed out")
    except RuntimeFailure as e:
        return Outcome(False, str(e))
    if result.exit_code == 0:
        return Outcome(True)
    output = result.output.decode(errors="replace").strip()
    return Outcome(False, output or f"command exited with code {result.exit_code}")


async def grpc_health(action: core_pb2.GRPCAction, pod_ip: str, timeout: float) -> Outcome:
    """The standard grpc.health.v1 Check: SERVING is success."""
    target = f"{pod_ip}:{action.port}"
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(service=action.service), timeout=timeout
            )
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return Outcome(False, f"timeout: health rpc did not complete within {timeout:g}s")
            return Outcome(False, f'failed to connect service "{target}": {e.details()}')
    if reply.status == health_pb2.HealthCheckResponse.SERVING:
        return Outcome(True)
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return Outcome(False, f'service unhealthy (responded with "{status}")')

"""The node-agent gRPC service: container logs, exec, usage and port forwarding, at the
Node's daemon endpoint.

One server may front several simulated nodes of one process: it looks a pod up in each
node's pod manager in turn, and a Stats request names its node.

Port forwarding connects to the pod's IP (its sandbox's address on the node's pod
network), not to localhost inside the pod's network namespace as Kubernetes' kubelet
does: the kubelet reaches every pod IP of its node without entering a namespace, so a
server bound to the pod's loopback only is the one case it cannot reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
import structlog
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from client.timeouts import within
from client.timestamps import from_epoch
from client.tls import ServerTls, certificate_subject
from kubelet.pods.manager import PodManager
from kubelet.runtime.interface import (
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntime,
    ExecSession,
    RuntimeFailure,
)
from kubelet.stats.collector import NodeUsage, StatsCollector, Usage
from proto import nodeagent_pb2, nodeagent_pb2_grpc

log = structlog.get_logger("kubelet.agent")

_CHUNK = 32 * 1024
_CONNECT_TIMEOUT = 5.0


class _Lookup:
    """Finds a pod's container on one of the nodes served."""

    def __init__(self, managers: Sequence[PodManager]) -> None:
        self.managers = managers

    async def container(
        self, context: Any, namespace: str, pod: str, container: str, *, previous: bool
    ) -> tuple[PodManager, ContainerInfo]:
        namespace = namespace or "default"
        for manager in self.managers:
            worker = manager.find(namespace, pod)
            if worker is None:
                continue
            names = [c.name for c in worker.pod.spec.containers]
            # Init and ephemeral containers are found by name; only an app container is
            # the one a pod with one has by default.
            others = [c.name for c in worker.pod.spec.init_containers]
            others += [e.name for e in worker.pod.spec.ephemeral_containers]
            if not container:
                if len(names) != 1:
                    await context.abort(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"a container name must be specified for pod {pod}, "
                        f"choose one of: [{' '.join(names)}]",
                    )
                container = names[0]
            if container not in names and container not in others:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"container {container} is not valid for pod {pod}",
                )
            instances = sorted(
                (
                    c
                    for c in manager.ctx.cache.containers(worker.uid)
                    if c.name == container and c.kind != "sandbox"
                ),
                key=lambda c: c.attempt,
                reverse=True,
            )
            if previous:
                instances = instances[1:]
                if not instances:
                    await context.abort(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f'previous terminated container "{container}" in pod "{pod}" not found',
                    )
            if not instances:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f'container "{container}" in pod "{pod}" is waiting to start',
                )
            return manager, instances[0]
        await context.abort(grpc.StatusCode.NOT_FOUND, f'pods "{pod}" not found on this node')
        raise AssertionError("unreachable")

    async def pod_ip(self, context: Any, namespace: str, pod: str) -> str:
        """The IP of the pod's running sandbox."""
        namespace = namespace or "default"
        for manager in self.managers:
            worker = manager.find(namespace, pod)
            if worker is None:
                continue
            for c in manager.ctx.cache.containers(worker.uid):
                if c.kind == "sandbox" and c.running and c.ip:
                    return c.ip
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, f'pod "{pod}" has no running sandbox yet'
            )
        await context.abort(grpc.StatusCode.NOT_FOUND, f'pods "{pod}" not found on this node')
        raise AssertionError("unreachable")


async def _opening(requests: AsyncIterator[Any], context: Any, rpc: str) -> Any:
    """The `start` of a streaming call's first message; the call is aborted without one."""
    first: Any = await anext(aiter(requests), None)
    if first is None or first.WhichOneof("input") != "start":
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT, f"the first {rpc} message must be `start`"
        )
    return first.start


class NodeAgentService(nodeagent_pb2_grpc.NodeAgentServicer):
    """Logs and Exec over the runtime of the node that runs the pod; Stats of a node."""

    def __init__(
        self,
        managers: Sequence[PodManager],
        stats: Sequence[StatsCollector] = (),
        callers_group: str = "",
    ) -> None:
        self.lookup = _Lookup(managers)
        self.stats = {c.node: c for c in stats}
        self.callers_group = callers_group

    async def _authorized(self, context: Any) -> None:
        """Abort unless the caller's verified certificate is in `callers_group` (the API
        servers'): other holders of the cluster CA's certificates, such as other nodes,
        may not read logs or run commands here."""
        if not self.callers_group:
            return
        found = context.auth_context().get("x509_pem_cert")
        user, groups = certificate_subject(bytes(found[0])) if found else ("", ())
        if self.callers_group not in groups:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f'"{user or "an unknown caller"}" is not in group "{self.callers_group}", '
                "which alone may call the node agent",
            )

    async def Stats(
        self, request: nodeagent_pb2.StatsRequest, context: Any
    ) -> nodeagent_pb2.StatsResponse:
        """The node's and its containers' CPU rate and memory working set."""
        await self._authorized(context)
        name = request.node
        if not name and len(self.stats) == 1:
            name = next(iter(self.stats))
        collector = self.stats.get(name)
        if collector is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f'node "{name}" is not served by this node agent'
            )
            raise AssertionError("unreachable")
        found = collector.usage()
        if found is None:
            detail = "metrics not available yet"
            if collector.period <= 0:
                detail = f"node {name} collects no stats (its kubelet runs with --stats-period 0)"
            await context.abort(grpc.StatusCode.UNAVAILABLE, detail)
            raise AssertionError("unreachable")
        return usage_message(found)

    async def Logs(
        self, request: nodeagent_pb2.LogsRequest, context: Any
    ) -> AsyncIterator[nodeagent_pb2.LogsChunk]:
        """Stream the container's output; with follow, until it stops or the caller leaves."""
        await self._authorized(context)
        manager, info = await self.lookup.container(
            context, request.namespace, request.pod, request.container, previous=request.previous
        )
        tail = request.tail_lines if request.HasField("tail_lines") else None
        log.info("logs", pod=f"{request.namespace}/{request.pod}", container=info.name)
        try:
            since = time.time() - request.since_seconds if request.since_seconds > 0 else None
            async for chunk in manager.ctx.runtime.logs(
                info.id,
                follow=request.follow,
                tail=tail,
                timestamps=request.timestamps,
                since=since,
            ):
                for i in range(0, len(chunk), _CHUNK):
                    yield nodeagent_pb2.LogsChunk(data=chunk[i : i + _CHUNK])
        except ContainerNotFound:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"container {info.name} is gone")

    async def Exec(
        self, requests: AsyncIterator[nodeagent_pb2.ExecInput], context: Any
    ) -> AsyncIterator[nodeagent_pb2.ExecOutput]:
        """Run a command: stdin chunks in, stdout/stderr chunks out, then the exit code."""
        await self._authorized(context)
        start = await _opening(requests, context, "Exec")
        if not start.command:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "command: Required value")
        command = list(start.command)

        def begin(runtime: ContainerRuntime, container_id: str) -> Awaitable[ExecSession]:
            return runtime.exec(container_id, command, stdin=start.stdin, tty=start.tty)

        async for out in self._session(requests, context, start, begin, "exec", command=command):
            yield out

    async def Attach(
        self, requests: AsyncIterator[nodeagent_pb2.ExecInput], context: Any
    ) -> AsyncIterator[nodeagent_pb2.ExecOutput]:
        """Join the container's own process: Exec's messages, with no command; the exit
        code comes when the container stops."""
        await self._authorized(context)
        start = await _opening(requests, context, "Attach")

        def begin(runtime: ContainerRuntime, container_id: str) -> Awaitable[ExecSession]:
            return runtime.attach(container_id, stdin=start.stdin, tty=start.tty)

        async for out in self._session(
            requests, context, start, begin, "attach", stdin=start.stdin
        ):
            yield out

    async def _session(
        self,
        requests: AsyncIterator[nodeagent_pb2.ExecInput],
        context: Any,
        start: nodeagent_pb2.ExecStart,
        begin: Callable[[ContainerRuntime, str], Awaitable[ExecSession]],
        what: str,
        **fields: object,
    ) -> AsyncIterator[nodeagent_pb2.ExecOutput]:
        """What Exec and Attach share: the running container, the session `begin` opens
        in it, and the relay (stdin in; output, then the exit code, back)."""
        manager, info = await self._running(context, start)
        key = f"{start.namespace or 'default'}/{start.pod}"
        log.info(what, pod=key, container=info.name, **fields)
        try:
            session = await begin(manager.ctx.runtime, info.id)
        except (RuntimeFailure, ContainerNotFound) as e:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(e))
            return
        async for out in _relay(session, requests, start.stdin):
            yield out

    async def _running(
        self, context: Any, start: nodeagent_pb2.ExecStart
    ) -> tuple[PodManager, ContainerInfo]:
        manager, info = await self.lookup.container(
            context, start.namespace, start.pod, start.container, previous=False
        )
        if not info.running:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"container {info.name} is not running (state {info.state})",
            )
        return manager, info

    async def PortForward(
        self, requests: AsyncIterator[nodeagent_pb2.PortForwardInput], context: Any
    ) -> AsyncIterator[nodeagent_pb2.PortForwardOutput]:
        """Relay one TCP connection to a port of the pod (see the module docstring)."""
        await self._authorized(context)
        start = await _opening(requests, context, "PortForward")
        if not 0 < start.port < 65536:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"port: Invalid value: {start.port}"
            )
        ip = await self.lookup.pod_ip(context, start.namespace, start.pod)
        key = f"{start.namespace or 'default'}/{start.pod}"
        try:
            reader, writer = await within(asyncio.open_connection(ip, start.port), _CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                f"error forwarding port {start.port} to pod {key}: {e or 'timed out'}",
            )
            return
        log.info("port forward", pod=key, port=start.port)

        async def feed() -> None:
            try:
                async for msg in requests:
                    if msg.WhichOneof("input") == "data":
                        writer.write(msg.data)
                        await writer.drain()
            finally:
                # The caller's end of stream is a half-close: the pod may still answer.
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()

        feeder = asyncio.create_task(feed())
        try:
            while data := await reader.read(_CHUNK):
                yield nodeagent_pb2.PortForwardOutput(data=data)
        except OSError:
            pass  # the pod's side reset the connection: the forward ends
        finally:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feeder
            writer.close()


async def _relay(
    session: ExecSession, requests: AsyncIterator[nodeagent_pb2.ExecInput], stdin: bool
) -> AsyncIterator[nodeagent_pb2.ExecOutput]:
    """stdin from the caller into the session, its output back, then its exit code."""

    async def feed() -> None:
        try:
            async for msg in requests:
                which = msg.WhichOneof("input")
                if which == "stdin" and stdin:
                    await session.write(msg.stdin)
                elif which == "close_stdin":
                    break
        finally:
            if stdin:
                await session.close_stdin()

    feeder = asyncio.create_task(feed())
    try:
        async for stream, data in session.output():
            if stream == 2:
                yield nodeagent_pb2.ExecOutput(stderr=data)
            else:
                yield nodeagent_pb2.ExecOutput(stdout=data)
        yield nodeagent_pb2.ExecOutput(exit_code=await session.exit_code())
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feeder
        await session.close()


def usage_message(found: NodeUsage) -> nodeagent_pb2.StatsResponse:
    """The metrics API's answer for one node."""
    pods: dict[tuple[str, str], nodeagent_pb2.PodUsage] = {}
    for c in sorted(found.containers, key=lambda c: (c.namespace, c.pod, c.container)):
        pod = pods.get((c.namespace, c.pod))
        if pod is None:
            pod = pods[(c.namespace, c.pod)] = nodeagent_pb2.PodUsage(
                namespace=c.namespace, name=c.pod
            )
        pod.containers.add(name=c.container, usage=_usage(c.usage))
    return nodeagent_pb2.StatsResponse(
        node=found.node,
        usage=_usage(found.usage),
        pods=list(pods.values()),
        timestamp=from_epoch(found.wall),
        window_seconds=found.window,
    )


def _usage(u: Usage) -> nodeagent_pb2.Usage:
    return nodeagent_pb2.Usage(
        cpu_nano_cores=u.cpu_nano_cores, memory_working_set_bytes=u.memory_working_set_bytes
    )


CALLERS_GROUP = "system:masters"
"""With TLS, only certificates in this group may call (the API servers' is)."""


async def serve(
    managers: Sequence[PodManager],
    address: str,
    port: int,
    stats: Sequence[StatsCollector] = (),
    tls: ServerTls | None = None,
) -> grpc.aio.Server:
    """Start the node-agent server with the standard health service; the caller stops it.

    With `tls` it speaks TLS with the node's serving certificate and, when `tls` names a
    client CA, demands a certificate of it in CALLERS_GROUP."""
    server = grpc.aio.server()
    demand = tls is not None and tls.client_ca is not None
    nodeagent_pb2_grpc.add_NodeAgentServicer_to_server(  # type: ignore[no-untyped-call]
        NodeAgentService(managers, stats, CALLERS_GROUP if demand else ""), server
    )
    health_servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if tls is None:
        bound = server.add_insecure_port(f"{address}:{port}")
    else:
        bound = server.add_secure_port(f"{address}:{port}", tls.grpc(require_client_cert=demand))
    if bound == 0:
        raise OSError(f"cannot listen on {address}:{port}")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await health_servicer.set("tugboat.v1.NodeAgent", health_pb2.HealthCheckResponse.SERVING)
    return server

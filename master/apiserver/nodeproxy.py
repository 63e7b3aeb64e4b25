"""The API server's face of the node-agent service: logs, exec and stats proxied to kubelets.

Clients (the `tug` CLI) only ever talk to API servers. For `Logs` and `Exec` the API
server looks the pod up, finds its node's InternalIP and the node-agent port the kubelet
published in `status.daemonEndpoints`, and relays the streams both ways unchanged;
`Stats` names its node directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, TypeVar

import grpc
import structlog

from client import errors
from client.kinds import by_resource
from master.apiserver import nodeagents
from master.apiserver.access import Access
from master.apiserver.access import Request as AccessRequest
from master.apiserver.auth.peers import grpc_caller
from master.apiserver.nodeagents import node_agent, pod_agent
from master.apiserver.registry import Registry
from proto import nodeagent_pb2, nodeagent_pb2_grpc

log = structlog.get_logger("apiserver.nodeproxy")
PODS, NODES = by_resource("pods"), by_resource("nodes")
T = TypeVar("T")


async def _relayed(
    call: grpc.aio.UnaryStreamCall[Any, T] | grpc.aio.StreamStreamCall[Any, T], context: Any
) -> AsyncGenerator[T, None]:
    """A kubelet's stream passed on as it comes: its failure ends ours with its code, and
    our end, however it comes, ends it."""
    try:
        async for item in call:
            yield item
    except grpc.aio.AioRpcError as e:
        await context.abort(e.code(), e.details() or "node agent failed")
    finally:
        call.cancel()


class NodeProxy(nodeagent_pb2_grpc.NodeAgentServicer):
    """Relays NodeAgent calls to the kubelet of the pod's node."""

    def __init__(self, registry: Registry, access: Access | None = None) -> None:
        self.registry = registry
        self.access = access or Access.open()

    async def _allowed(self, context: Any, asked: AccessRequest) -> None:
        """Abort the call unless its caller may (get pods/log, create pods/exec, ...)."""
        if not self.access.enabled:
            return
        authorization, certificate = grpc_caller(context)
        try:
            await self.access.check(asked, authorization=authorization, certificate=certificate)
        except errors.ApiError as e:
            await context.abort(e.code, e.message)
            raise

    async def _target(self, context: Any, namespace: str, name: str) -> str:
        """host:port of the node agent that runs the pod; aborts the call when there is none."""
        try:
            return await pod_agent(self.registry, namespace, name)
        except errors.ApiError as e:
            await context.abort(e.code, e.message)
            raise

    async def _node_target(self, context: Any, name: str) -> str:
        """host:port of the node's agent; aborts the call when there is none."""
        try:
            return await node_agent(self.registry, name)
        except errors.ApiError as e:
            await context.abort(e.code, e.message)
            raise

    async def Logs(
        self, request: nodeagent_pb2.LogsRequest, context: Any
    ) -> AsyncIterator[nodeagent_pb2.LogsChunk]:
        """Relay the kubelet's log stream."""
        await self._allowed(
            context, AccessRequest("get", PODS, request.namespace, request.pod, subresource="log")
        )
        target = await self._target(context, request.namespace, request.pod)
        log.info("proxy logs", key=f"pods/{request.namespace}/{request.pod}", node=target)
        async with nodeagents.dial(target) as channel:
            stub = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
            async with aclosing(_relayed(stub.Logs(request), context)) as chunks:
                async for chunk in chunks:
                    yield chunk

    async def Stats(
        self, request: nodeagent_pb2.StatsRequest, context: Any
    ) -> nodeagent_pb2.StatsResponse:
        """Relay a node's usage (the metrics API behind `tug top`)."""
        if not request.node:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "node: Required value")
        await self._allowed(
            context, AccessRequest("get", NODES, "", request.node, subresource="stats")
        )
        target = await self._node_target(context, request.node)
        async with nodeagents.dial(target) as channel:
            stub = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
            try:
                response: nodeagent_pb2.StatsResponse = await stub.Stats(request, timeout=5)
            except grpc.aio.AioRpcError as e:
                await context.abort(e.code(), e.details() or "node agent failed")
                raise
        return response

    async def _session(
        self, verb: str, requests: AsyncIterator[nodeagent_pb2.ExecInput], context: Any
    ) -> AsyncIterator[nodeagent_pb2.ExecOutput]:
        """An exec, or an attach to the container's own process (`tug debug -i`): authorized
        as Kubernetes authorizes them (`create pods/exec`, `create pods/attach`), then stdin
        relayed to the pod's kubelet and its output (and exit code) back."""
        first = await anext(aiter(requests), None)
        if first is None or first.WhichOneof("input") != "start":
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the first {verb.capitalize()} message must be `start`",
            )
            return
        await self._allowed(
            context,
            AccessRequest("create", PODS, first.start.namespace, first.start.pod, subresource=verb),
        )
        target = await self._target(context, first.start.namespace, first.start.pod)
        key = f"pods/{first.start.namespace}/{first.start.pod}"
        log.info(f"proxy {verb}", key=key, node=target)
        forward: asyncio.Queue[nodeagent_pb2.ExecInput | None] = asyncio.Queue()
        forward.put_nowait(first)

        async def pump() -> None:
            try:
                async for msg in requests:
                    await forward.put(msg)
            finally:
                await forward.put(None)

        async def upstream() -> AsyncIterator[nodeagent_pb2.ExecInput]:
            while (msg := await forward.get()) is not None:
                yield msg

        pumping = asyncio.create_task(pump())
        try:
            async with nodeagents.dial(target) as channel:
                stub = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
                call = stub.Attach if verb == "attach" else stub.Exec
                async with aclosing(_relayed(call(upstream()), context)) as outputs:
                    async for out in outputs:
                        yield out
        finally:
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pumping

    # Bound to the one generator: gRPC serves a streaming handler by its function's kind,
    # which a partial of an async generator function keeps.
    Exec = functools.partialmethod(_session, "exec")
    Attach = functools.partialmethod(_session, "attach")

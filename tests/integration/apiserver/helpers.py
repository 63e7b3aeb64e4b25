"""Talking to an API server in tests through the raw gRPC stub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc

from client.kinds import Object, by_resource, decode
from proto import api_pb2, api_pb2_grpc, core_pb2


@asynccontextmanager
async def stub_for(endpoint: str) -> AsyncIterator[Any]:
    """A ResourcesStub on a fresh channel, closed afterwards."""
    channel = grpc.aio.insecure_channel(endpoint)
    try:
        yield api_pb2_grpc.ResourcesStub(channel)  # type: ignore[no-untyped-call]
    finally:
        await channel.close(None)


def configmap(name: str, namespace: str = "default", **data: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap", data=data)
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    return cm


def pod(name: str, namespace: str = "default", node: str = "", **labels: str) -> core_pb2.Pod:
    p = core_pb2.Pod(api_version="v1", kind="Pod")
    p.metadata.name = name
    p.metadata.namespace = namespace
    p.metadata.labels.update(labels)
    c = p.spec.containers.add()
    c.name = "main"
    c.image = "busybox:1.35"
    p.spec.node_name = node
    return p


class Held:
    """Holds every `get` of the ConfigMap "slow" until released: a request in flight."""

    def __init__(self, server: Any) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        registry = server.service.registry
        real = registry.get

        async def get(kind: Any, namespace: str, name: str, *rest: Any) -> Any:
            if name == "slow":
                self.entered.set()
                await self.release.wait()
            return await real(kind, namespace, name, *rest)

        registry.get = get


def resource_of(obj: Object) -> str:
    from client.kinds import of

    return of(obj).resource


async def create(stub: Any, obj: Object, **kw: Any) -> Any:
    resource = resource_of(obj)
    resp = await stub.Create(
        api_pb2.CreateRequest(
            resource=resource,
            namespace=obj.metadata.namespace,
            object=obj.SerializeToString(),
            **kw,
        )
    )
    return decode(resource, resp.object)


async def update(stub: Any, obj: Object, *, status: bool = False, **kw: Any) -> Any:
    resource = resource_of(obj)
    request = api_pb2.UpdateRequest(
        resource=resource,
        namespace=obj.metadata.namespace,
        object=obj.SerializeToString(),
        **kw,
    )
    resp = await (stub.UpdateStatus if status else stub.Update)(request)
    return decode(resource, resp.object)


async def get(stub: Any, resource: str, namespace: str, name: str) -> Any:
    resp = await stub.Get(api_pb2.GetRequest(resource=resource, namespace=namespace, name=name))
    return decode(resource, resp.object)


async def delete(stub: Any, resource: str, namespace: str, name: str, **kw: Any) -> Any:
    resp = await stub.Delete(
        api_pb2.DeleteRequest(resource=resource, namespace=namespace, name=name, **kw)
    )
    return decode(resource, resp.object)


async def list_names(stub: Any, resource: str, namespace: str = "", **kw: Any) -> list[str]:
    resp = await stub.List(api_pb2.ListRequest(resource=resource, namespace=namespace, **kw))
    return [decode(resource, item).metadata.name for item in resp.items]


__all__ = ["by_resource"]

"""Building pods and waiting on their status in kubelet tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from client.api import ApiClient
from client.errors import NotFound
from proto import core_pb2, nodeagent_pb2, nodeagent_pb2_grpc
from tests.support.waiting import eventually

IMAGE = "busybox:1.35"


def pod(name: str, node: str, *containers: core_pb2.Container, **spec: Any) -> core_pb2.Pod:
    """A pod bound to `node` with the given containers."""
    p = core_pb2.Pod(api_version="v1", kind="Pod")
    p.metadata.name = name
    p.metadata.namespace = "default"
    p.spec.node_name = node
    p.spec.termination_grace_period_seconds = spec.pop("grace", 2)
    for k, v in spec.items():
        setattr(p.spec, k, v)
    p.spec.containers.extend(containers)
    return p


def container(name: str, *command: str, image: str = IMAGE, **fields: Any) -> core_pb2.Container:
    """A container running `command` (through the image's entrypoint when empty)."""
    c = core_pb2.Container(name=name, image=image, command=list(command))
    for k, v in fields.items():
        if isinstance(v, list):
            getattr(c, k).extend(v)
        elif hasattr(v, "CopyFrom"):
            getattr(c, k).CopyFrom(v)
        else:
            setattr(c, k, v)
    return c


async def get_pod(api: ApiClient, name: str) -> core_pb2.Pod:
    got = await api.get("pods", "default", name)
    assert isinstance(got, core_pb2.Pod)
    return got


def status_of(p: core_pb2.Pod, container_name: str) -> core_pb2.ContainerStatus:
    """The container's status; an empty one when it has none yet."""
    for s in p.status.container_statuses:
        if s.name == container_name:
            return s
    return core_pb2.ContainerStatus()


def container_id(p: core_pb2.Pod, container_name: str) -> str:
    """The Docker ID of the container's current instance."""
    return status_of(p, container_name).container_id.removeprefix("docker://")


def condition(p: core_pb2.Pod, type_: str) -> str:
    for c in p.status.conditions:
        if c.type == type_:
            return c.status
    return ""


async def wait_for_pod(
    api: ApiClient, name: str, check: Any, *, timeout: float = 30.0, what: str = ""
) -> core_pb2.Pod:
    """The pod once `check(pod)` is true."""

    async def probe():
        p = await get_pod(api, name)
        return p if check(p) else None

    pod: core_pb2.Pod = await eventually(
        probe, timeout=timeout, interval=0.2, what=what or f"pod {name}"
    )
    return pod


async def wait_gone(api: ApiClient, name: str, timeout: float = 30.0) -> None:
    async def gone():
        try:
            await get_pod(api, name)
        except NotFound:
            return True
        return False

    await eventually(gone, timeout=timeout, interval=0.2, what=f"pod {name} deleted")


def running(p: core_pb2.Pod) -> bool:
    return (
        p.status.phase == "Running"
        and all(s.state.HasField("running") for s in p.status.container_statuses)
        and len(p.status.container_statuses) == len(p.spec.containers)
    )


async def read_file(agent_port: int, name: str, path: str) -> str:
    """A file of the pod's (only) container, read through the node agent's Exec."""

    async def inputs() -> AsyncIterator[nodeagent_pb2.ExecInput]:
        start = nodeagent_pb2.ExecStart(namespace="default", pod=name, command=["cat", path])
        yield nodeagent_pb2.ExecInput(start=start)

    out = b""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{agent_port}") as channel:
        stub = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
        async for msg in stub.Exec(inputs()):
            out += msg.stdout
    return out.decode()

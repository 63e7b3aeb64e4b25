"""Stand-ins for what a pod worker asks of the node beside the runtime: the API as it
sees its one pod, no events recorded (or each one kept), no ConfigMap, Secret, token,
claim or volume found; and the NodeContext of node "n1" made of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubelet.pods.context import NodeContext, PodSettings
from kubelet.pods.pleg import ContainerCache
from kubelet.pods.volumes import VolumeManager
from kubelet.probes.workers import ProbeManager
from proto import core_pb2


class PodStore:
    """The API as a pod worker uses it: its pod's status writes, kept, each at a
    resourceVersion above the one it was based on."""

    def __init__(self, pod: core_pb2.Pod) -> None:
        self.pod = pod
        self.writes = 0

    async def update_status(self, obj: Any) -> Any:
        self.writes += 1
        self.pod = core_pb2.Pod()
        self.pod.CopyFrom(obj)
        based_on = int(obj.metadata.resource_version or 0)
        self.pod.metadata.resource_version = str(max(self.writes, based_on) + 1)
        return self.pod

    async def get(self, resource: str, namespace: str, name: str) -> Any:
        return self.pod

    async def delete(self, resource: str, namespace: str, name: str, **options: Any) -> Any:
        return self.pod


class NoEvents:
    async def record(self, obj: core_pb2.Pod, type: str, reason: str, message: str) -> None:
        pass


class KeptEvents:
    """Every event recorded, as (type, reason, message)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    async def record(self, obj: core_pb2.Pod, type: str, reason: str, message: str) -> None:
        self.seen.append((type, reason, message))


class NoConfig:
    async def configmap(self, namespace: str, name: str) -> None:
        return None

    async def secret(self, namespace: str, name: str) -> None:
        return None

    async def token(
        self, pod: core_pb2.Pod, audience: str = "", expiration_seconds: int = 0
    ) -> str:
        return ""

    async def claim(self, namespace: str, name: str) -> None:
        return None

    async def volume(self, name: str) -> None:
        return None


def node_context(runtime: Any, api: Any, cache: ContainerCache, root: Path) -> NodeContext:
    """Node "n1" with `runtime` and `api`, nothing else found, probes reporting nowhere."""
    return NodeContext(
        node_name="n1",
        host_ip="127.0.0.1",
        runtime=runtime,
        api=api,
        events=NoEvents(),
        config=NoConfig(),
        cache=cache,
        volumes=VolumeManager(root, NoConfig()),
        probes=ProbeManager(runtime, lambda uid: None, lambda *a: None),
        settings=PodSettings(),
        root_dir=root,
    )

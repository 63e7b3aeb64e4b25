"""Stand-ins for what a pod worker asks of the node beside the runtime and the API: no
events recorded, no ConfigMap, Secret, token, claim or volume found; and the NodeContext
of node "n1" made of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubelet.pods.context import NodeContext, PodSettings
from kubelet.pods.pleg import ContainerCache
from kubelet.pods.volumes import VolumeManager
from kubelet.probes.workers import ProbeManager
from proto import core_pb2


class NoEvents:
    async def record(self, obj: core_pb2.Pod, type: str, reason: str, message: str) -> None:
        pass


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

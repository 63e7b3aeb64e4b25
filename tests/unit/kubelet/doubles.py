"""Stand-ins for what a pod worker asks of the node beside the runtime and the API: no
events recorded, no ConfigMap, Secret, token, claim or volume found."""

from __future__ import annotations

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

"""Where pods' ConfigMaps, Secrets and claims come from: the API server, read when needed.

The kubelet reads only the objects its pods reference, when a container starts and when
volumes are refreshed, rather than watching every ConfigMap, Secret, claim and volume in
the cluster.
"""

from __future__ import annotations

from typing import Protocol

from client.api import ApiClient
from client.errors import NotFound
from proto import core_pb2


class ConfigSource(Protocol):
    """Reads ConfigMaps and Secrets; None when they do not exist."""

    async def configmap(self, namespace: str, name: str) -> core_pb2.ConfigMap | None:
        """The ConfigMap, or None."""
        ...

    async def secret(self, namespace: str, name: str) -> core_pb2.Secret | None:
        """The Secret, or None."""
        ...

    async def token(
        self, pod: core_pb2.Pod, audience: str = "", expiration_seconds: int = 0
    ) -> str:
        """A token of the pod's ServiceAccount, bound to the pod (ApiError if refused): for
        `audience` ("": the API server) and as long as asked (0: the kubelet's own)."""
        ...

    async def claim(self, namespace: str, name: str) -> core_pb2.PersistentVolumeClaim | None:
        """The PersistentVolumeClaim, or None."""
        ...

    async def volume(self, name: str) -> core_pb2.PersistentVolume | None:
        """The PersistentVolume, or None."""
        ...


class ApiConfigSource:
    """ConfigSource over the API client."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    async def configmap(self, namespace: str, name: str) -> core_pb2.ConfigMap | None:
        """GET the ConfigMap."""
        try:
            obj = await self.api.get("configmaps", namespace, name)
        except NotFound:
            return None
        assert isinstance(obj, core_pb2.ConfigMap)
        return obj

    async def secret(self, namespace: str, name: str) -> core_pb2.Secret | None:
        """GET the Secret."""
        try:
            obj = await self.api.get("secrets", namespace, name)
        except NotFound:
            return None
        assert isinstance(obj, core_pb2.Secret)
        return obj

    async def token(
        self, pod: core_pb2.Pod, audience: str = "", expiration_seconds: int = 0
    ) -> str:
        """CreateToken for the pod, as Kubernetes' kubelet asks (by default 3607 s, bound
        to the pod)."""
        answer = await self.api.create_token(
            pod.metadata.namespace,
            pod.spec.service_account_name or "default",
            pod_name=pod.metadata.name,
            pod_uid=pod.metadata.uid,
            expiration_seconds=expiration_seconds or KUBELET_TOKEN_SECONDS,
            audiences=[audience] if audience else [],
        )
        return answer.token

    async def claim(self, namespace: str, name: str) -> core_pb2.PersistentVolumeClaim | None:
        """GET the PersistentVolumeClaim."""
        try:
            obj = await self.api.get("persistentvolumeclaims", namespace, name)
        except NotFound:
            return None
        assert isinstance(obj, core_pb2.PersistentVolumeClaim)
        return obj

    async def volume(self, name: str) -> core_pb2.PersistentVolume | None:
        """GET the PersistentVolume."""
        try:
            obj = await self.api.get("persistentvolumes", "", name)
        except NotFound:
            return None
        assert isinstance(obj, core_pb2.PersistentVolume)
        return obj


KUBELET_TOKEN_SECONDS = 3607


class ContainerConfigError(Exception):
    """A container cannot be configured (Kubernetes' CreateContainerConfigError)."""

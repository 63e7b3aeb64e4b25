"""Which node runs which pod, and what each pod uses: the node authorizer's knowledge.

Kubernetes' node authorizer keeps a graph of pods, nodes, Secrets, ConfigMaps and
ServiceAccounts; this is the same idea with plain dictionaries: each bound pod is
filed under its node with the Secrets, ConfigMaps and ServiceAccount it references
(volumes, env valueFrom, envFrom). The API server feeds it from its etcd watch of pods.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from proto import core_pb2

__all__ = ["PodGraph", "PodRefs", "references"]


@dataclass(frozen=True)
class PodRefs:
    """What one pod uses, and where it runs."""

    node: str
    secrets: frozenset[str]
    configmaps: frozenset[str]
    service_account: str
    uid: str


def references(pod: core_pb2.Pod) -> PodRefs:
    """The node, Secrets, ConfigMaps and ServiceAccount of a pod."""
    secrets: set[str] = set()
    configmaps: set[str] = set()
    for volume in pod.spec.volumes:
        if volume.HasField("secret") and volume.secret.secret_name:
            secrets.add(volume.secret.secret_name)
        if volume.HasField("config_map") and volume.config_map.name:
            configmaps.add(volume.config_map.name)
        for projection in volume.projected.sources:
            if projection.HasField("secret") and projection.secret.name:
                secrets.add(projection.secret.name)
            if projection.HasField("config_map") and projection.config_map.name:
                configmaps.add(projection.config_map.name)
    for container in (*pod.spec.init_containers, *pod.spec.containers):
        for env in container.env:
            source = env.value_from
            if source.HasField("secret_key_ref") and source.secret_key_ref.name:
                secrets.add(source.secret_key_ref.name)
            if source.HasField("config_map_key_ref") and source.config_map_key_ref.name:
                configmaps.add(source.config_map_key_ref.name)
        for env_from in container.env_from:
            if env_from.HasField("secret_ref") and env_from.secret_ref.name:
                secrets.add(env_from.secret_ref.name)
            if env_from.HasField("config_map_ref") and env_from.config_map_ref.name:
                configmaps.add(env_from.config_map_ref.name)
    secrets.update(ref.name for ref in pod.spec.image_pull_secrets if ref.name)
    return PodRefs(
        pod.spec.node_name,
        frozenset(secrets),
        frozenset(configmaps),
        pod.spec.service_account_name or "default",
        pod.metadata.uid,
    )


_Ref = tuple[str, str, str]
"""(node, namespace, name)."""


class PodGraph:
    """Bound pods by namespace/name, and reference counts per node."""

    def __init__(self) -> None:
        self._pods: dict[tuple[str, str], PodRefs] = {}
        self._secrets: Counter[_Ref] = Counter()
        self._configmaps: Counter[_Ref] = Counter()
        self._service_accounts: Counter[_Ref] = Counter()

    def __len__(self) -> int:
        return len(self._pods)

    def put(self, pod: core_pb2.Pod) -> None:
        """Add or refresh a pod (an unbound pod is only forgotten)."""
        key = (pod.metadata.namespace, pod.metadata.name)
        self.remove(*key)
        if not pod.spec.node_name:
            return
        refs = references(pod)
        self._pods[key] = refs
        self._count(key[0], refs, 1)

    def remove(self, namespace: str, name: str) -> None:
        old = self._pods.pop((namespace, name), None)
        if old is not None:
            self._count(namespace, old, -1)

    def clear(self) -> None:
        self._pods.clear()
        self._secrets.clear()
        self._configmaps.clear()
        self._service_accounts.clear()

    def _count(self, namespace: str, refs: PodRefs, delta: int) -> None:
        touched: list[tuple[Counter[_Ref], _Ref]] = [
            *((self._secrets, (refs.node, namespace, s)) for s in refs.secrets),
            *((self._configmaps, (refs.node, namespace, c)) for c in refs.configmaps),
            (self._service_accounts, (refs.node, namespace, refs.service_account)),
        ]
        for counter, ref in touched:
            counter[ref] += delta
            if counter[ref] <= 0:
                del counter[ref]

    def pod(self, namespace: str, name: str) -> PodRefs | None:
        return self._pods.get((namespace, name))

    def node_uses_secret(self, node: str, namespace: str, name: str) -> bool:
        return self._secrets[(node, namespace, name)] > 0

    def node_uses_configmap(self, node: str, namespace: str, name: str) -> bool:
        return self._configmaps[(node, namespace, name)] > 0

    def node_uses_service_account(self, node: str, namespace: str, name: str) -> bool:
        return self._service_accounts[(node, namespace, name)] > 0

"""What an owner's sync asks of every pod of its namespace, worked out once per pod version.

A ReplicaSet's sync claims its pods from every pod of its namespace and counts the ready
ones, at every event of any of them: with 3,000 pods starting, the syncs run back to
back, and reading the same protobuf fields of the same unchanged pods each time kept the
controller manager at half a core (issue #14). A pod's resourceVersion changes with
every write, so facts stored under it are exact until the pod changes; each namespace's
table is rebuilt from the pods of each sync, so it holds no pod that is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from master.controllers import controller_utils as cu
from proto import core_pb2


@dataclass(frozen=True, slots=True)
class PodFacts:
    """One version of a pod, as owners' syncs see it."""

    version: str
    controller_uid: str
    """The uid in the pod's controller ownerReference ("" when it has none)."""
    active: bool
    terminating: bool
    ready: bool
    labels: dict[str, str]


def facts_of(pod: core_pb2.Pod) -> PodFacts:
    """The facts of this version of the pod."""
    return PodFacts(
        version=pod.metadata.resource_version,
        controller_uid=cu.controller_uid(pod),
        active=cu.is_pod_active(pod),
        terminating=cu.is_pod_terminating(pod),
        ready=cu.is_pod_ready(pod),
        labels=dict(pod.metadata.labels),
    )


class PodFactsCache:
    """Facts per namespace and pod name, reused while the pod's resourceVersion holds."""

    def __init__(self) -> None:
        self._namespaces: dict[str, dict[str, PodFacts]] = {}

    def of(self, namespace: str, pods: Sequence[core_pb2.Pod]) -> list[PodFacts]:
        """The facts of `pods`, all of `namespace`'s pods: the table keeps only these."""
        old = self._namespaces.get(namespace, {})
        table: dict[str, PodFacts] = {}
        out: list[PodFacts] = []
        for pod in pods:
            meta = pod.metadata
            known = old.get(meta.name)
            version = meta.resource_version
            if known is None or not version or known.version != version:
                known = facts_of(pod)
            table[meta.name] = known
            out.append(known)
        if table:
            self._namespaces[namespace] = table
        else:
            self._namespaces.pop(namespace, None)
        return out

    def get(self, pod: core_pb2.Pod) -> PodFacts:
        """The pod's facts: from the table when this version is in it, else worked out."""
        meta = pod.metadata
        known = self._namespaces.get(meta.namespace, {}).get(meta.name)
        if known is not None and meta.resource_version and known.version == meta.resource_version:
            return known
        return facts_of(pod)

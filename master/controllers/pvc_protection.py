"""PVC protection: a claim that a pod still uses is not deleted until that pod is gone.

As Kubernetes' pvc-protection controller: every claim carries the finalizer
`kubernetes.io/pvc-protection` (added at create by the API server, and here again if it
is missing). When a claim is marked for deletion the finalizer is removed only once no
scheduled, unfinished pod of its namespace names it. The pod cache may trail the
cluster, so before letting a claim go the pods are listed from the API server itself:
a pod made a moment ago never loses its volume to a stale cache. The kubelet does not
start a pod whose claim is being deleted, so no new user can appear after the check.
The finalizer loop is protection.py's, shared with pv-protection.
"""

from __future__ import annotations

from typing import Any

from client.ephemeral_volumes import not_for_pod, pod_claims
from client.storage import PVC_PROTECTION
from master.controllers.base import Context
from master.controllers.protection import ProtectionController
from proto import core_pb2

__all__ = ["PVCProtectionController", "pod_uses_claim"]


def pod_uses_claim(pod: core_pb2.Pod, pvc: core_pb2.PersistentVolumeClaim) -> bool:
    """Scheduled, not finished, and naming the claim (Kubernetes' podUsesPVC: the kubelet
    sees only scheduled pods, and a finished pod's containers no longer write). An
    ephemeral volume's claim counts only when the pod owns it: a namesake it refuses to
    mount is not kept for it, nor by a pod that is shut down (below)."""
    if not pod.spec.node_name or pod.status.phase in ("Succeeded", "Failed"):
        return False
    return any(
        claim.name == pvc.metadata.name
        and not (claim.ephemeral and (_shut_down(pod) or not_for_pod(pod, pvc)))
        for claim in pod_claims(pod)
    )


def _shut_down(pod: core_pb2.Pod) -> bool:
    """Deleted with no grace left: the kubelet is done with it (or it was forced), and it
    waits only for its finalizers. Its ephemeral claim is let go then, as Kubernetes'
    podIsShutDown lets it go: a foreground deletion of the pod waits for the claim (a
    dependent blocking its owner), which would otherwise wait for the pod, forever."""
    meta = pod.metadata
    return bool(
        meta.deletion_timestamp
        and meta.HasField("deletion_grace_period_seconds")
        and meta.deletion_grace_period_seconds == 0
    )


class PVCProtectionController(ProtectionController):
    """Adds the protection finalizer to claims; removes it once a deleted claim is unused."""

    name = "pvc-protection"
    component = "pvc-protection-controller"
    finalizer = PVC_PROTECTION
    resource = "persistentvolumeclaims"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pods = ctx.informers.get("pods")
        self.pods.add_handler(
            on_add=self._pod, on_update=lambda o, n: self._pod(n), on_delete=self._pod
        )

    def _pod(self, pod: Any) -> None:
        for claim in pod_claims(pod):
            self.queue.add(f"{pod.metadata.namespace}/{claim.name}")

    async def in_use(self, obj: core_pb2.PersistentVolumeClaim) -> bool:
        return self._used_in_cache(obj) or await self._used_live(obj)

    def _used_in_cache(self, pvc: core_pb2.PersistentVolumeClaim) -> bool:
        return any(
            pod.metadata.namespace == pvc.metadata.namespace and pod_uses_claim(pod, pvc)
            for pod in self.pods.list(copy=False)
        )

    async def _used_live(self, pvc: core_pb2.PersistentVolumeClaim) -> bool:
        listed = await self.client.list("pods", pvc.metadata.namespace)
        return any(
            isinstance(pod, core_pb2.Pod) and pod_uses_claim(pod, pvc) for pod in listed.items
        )

"""Ephemeral volume: each generic ephemeral volume of a pod gets its claim, owned by the pod.

As Kubernetes' ephemeral-volume controller (pkg/controller/volume/ephemeral): for every
pod that is not being deleted, each volume with `ephemeral.volumeClaimTemplate` needs the
PersistentVolumeClaim `<pod>-<volume>` (client/ephemeral_volumes.py) in the pod's
namespace, made from the template's labels, annotations and spec, with a controlling,
deletion-blocking owner reference to the pod. From there the claim is any claim: the
scheduler and the binder give it a volume (WaitForFirstConsumer waits for the pod's
node), the kubelet mounts it, quota counts it, and the garbage collector deletes it once
the pod is gone, after pvc-protection has let it go.

What is deliberately not done:

- A claim of that name that already exists is never changed or adopted. When the pod
  does not control it, it may be someone's data: the pod gets a Warning event
  (FailedBinding) and the key is retried with back-off, and the scheduler and kubelet
  refuse it with the same message, until someone deletes it; its deletion queues the pod
  again and the pod's own claim is made.
- Pod updates are not followed: a pod's volumes never change, and a claim deleted while
  its pod lives brings the pod back through the claims' delete handler, found by an
  index of pods by the claims they make.
- No expectations: a claim created a moment ago that the cache has not seen yet makes the
  next create answer AlreadyExists, which reads the claim itself and judges it as above,
  so a stale cache can neither make two claims nor hide a foreign one.
"""

from __future__ import annotations

from typing import Any

import structlog

from client import kinds
from client.ephemeral_volumes import claim_name, has_ephemeral, not_for_pod
from client.errors import AlreadyExists, ApiError
from master.controllers.base import Context, Controller
from master.controllers.metrics import EPHEMERAL_VOLUME_CREATE_FAILURES, EPHEMERAL_VOLUME_CREATES
from proto import core_pb2, meta_pb2

__all__ = ["CLAIM_INDEX", "EphemeralVolumeController", "claim_for"]

log = structlog.get_logger("controllers.ephemeral_volume")

CLAIM_INDEX = "ephemeral-claims"
"""Pods by the `namespace/name` of each claim their ephemeral volumes make."""
FAILED_BINDING = "FailedBinding"


class NotOwned(Exception):
    """The claim of an ephemeral volume exists but was not made for this pod."""


def _claim_keys(pod: Any) -> list[str]:
    ns = pod.metadata.namespace
    return [f"{ns}/{claim_name(pod, v)}" for v in pod.spec.volumes if v.HasField("ephemeral")]


def claim_for(pod: core_pb2.Pod, volume: core_pb2.Volume) -> core_pb2.PersistentVolumeClaim:
    """The claim the pod's ephemeral `volume` needs: the template's labels, annotations
    and spec, controlled by the pod (the garbage collector deletes it with the pod)."""
    template = volume.ephemeral.volume_claim_template
    pvc = core_pb2.PersistentVolumeClaim(api_version="v1", kind="PersistentVolumeClaim")
    pvc.metadata.name = claim_name(pod, volume)
    pvc.metadata.namespace = pod.metadata.namespace
    pvc.metadata.labels.update(template.metadata.labels)
    pvc.metadata.annotations.update(template.metadata.annotations)
    pvc.metadata.owner_references.append(
        meta_pb2.OwnerReference(
            api_version="v1",
            kind="Pod",
            name=pod.metadata.name,
            uid=pod.metadata.uid,
            controller=True,
            block_owner_deletion=True,
        )
    )
    pvc.spec.CopyFrom(template.spec)
    return pvc


class EphemeralVolumeController(Controller):
    """Keys are pods' `namespace/name`."""

    name = "ephemeral-volume"
    component = "ephemeral_volume"
    """Kubernetes' source of this controller's events."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pods = ctx.informers.get("pods")
        self.claims = ctx.informers.get("persistentvolumeclaims")
        self.pods.add_index(CLAIM_INDEX, _claim_keys)
        self.pods.add_handler(on_add=self._pod_added)
        self.claims.add_handler(on_delete=self._claim_deleted)

    def _pod_added(self, pod: Any) -> None:
        if not pod.metadata.deletion_timestamp and has_ephemeral(pod):
            self.enqueue(pod)

    def _claim_deleted(self, pvc: Any) -> None:
        # Deleted by someone (or a foreign namesake removed): the pods whose ephemeral
        # volume it is, or was to be, need it made again.
        for pod in self.pods.by_index(CLAIM_INDEX, kinds.key(pvc), copy=False):
            self._pod_added(pod)

    async def sync(self, key: str) -> None:
        """Create the missing claim of each ephemeral volume of pod `key`."""
        pod = self.pods.get(key, copy=False)
        if pod is None or pod.metadata.deletion_timestamp:
            return
        for volume in pod.spec.volumes:
            if not volume.HasField("ephemeral"):
                continue
            try:
                await self._ensure_claim(key, pod, volume)
            except (NotOwned, ApiError) as e:
                await self.events.record(
                    pod, "Warning", FAILED_BINDING, f"ephemeral volume {volume.name}: {e}"
                )
                raise

    async def _ensure_claim(self, key: str, pod: Any, volume: core_pb2.Volume) -> None:
        name = claim_name(pod, volume)
        namespace = pod.metadata.namespace
        existing = self.claims.get(f"{namespace}/{name}", copy=False)
        if existing is None:
            EPHEMERAL_VOLUME_CREATES.inc()
            try:
                await self.client.create(claim_for(pod, volume))
            except AlreadyExists:
                # Made since the cache was filled, by an earlier sync or by someone else.
                read = await self.client.get("persistentvolumeclaims", namespace, name)
                assert isinstance(read, core_pb2.PersistentVolumeClaim)
                existing = read
            except ApiError as e:
                EPHEMERAL_VOLUME_CREATE_FAILURES.inc()
                raise ApiError(f"create PVC {name}: {e.message}") from e
            else:
                log.info("claim created", key=key, volume=volume.name, claim=name)
                return
        problem = not_for_pod(pod, existing)
        if problem:
            log.warning("claim not the pod's own", key=key, volume=volume.name, claim=name)
            raise NotOwned(problem)

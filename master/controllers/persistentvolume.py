"""The persistent-volume binder: claims meet volumes, volumes follow their claims.

As Kubernetes' persistentvolume-binder (pkg/controller/volume/persistentvolume), one
level-triggered step per key; one queue carries both kinds, keyed `claim:<ns>/<name>` and
`volume:<name>`, so a claim and its volume never sync side by side from two workers in a
way that matters (every write is guarded by resourceVersion anyway).

A claim:
- without a class gets the default StorageClass once one exists (Kubernetes' retroactive
  default assignment; admission gives it at create when a default exists then);
- unbound, of a WaitForFirstConsumer class, waits until the scheduler has annotated it
  with the node its first pod goes to (`volume.kubernetes.io/selected-node`). Then, and
  for Immediate classes at once, it binds to the smallest Available volume that fits
  (client/storage.py, the same rule the scheduler's plugin applies), on that node if one
  was selected. With none, a class with a provisioner gets the claim annotated for it
  (`volume.kubernetes.io/storage-provisioner`), and the provisioner makes a volume
  pre-bound to the claim; without one the claim stays Pending with an event.
- Binding writes the volume's claimRef first, then its phase Bound, then the claim's
  volumeName, then its phase Bound with the volume's capacity and access modes: each
  step is visible, so a crash between two leaves a state the next sync completes.

A volume:
- with no claimRef is Available;
- whose claim is gone (checked against the API server, not only the cache, before
  acting) is Released. Retain keeps it Released with its data until an administrator
  deletes it. Delete leaves a provisioned volume to its provisioner (which removes the
  data and the volume); a hand-made volume with Delete has no deleter here and becomes
  Failed, as in Kubernetes for a volume plugin without one.

Every claim and volume is queued again every RESYNC seconds (Kubernetes: 15 s), so a
missed event delays a step and never loses it.

The binder reads volumes and claims through its own writes (own_writes.py), as
Kubernetes' controller stores what it writes back into its cache: a volume it has just
made Available is a candidate for the next claim even while the watch still carries
the Pending copy, so a claim never settles for a larger volume because of that lag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

from client import storage
from client.errors import NotFound
from client.informer import copy_object
from client.nodeaffinity import node_selector_matches
from client.timestamps import now
from master.controllers.base import Context
from master.controllers.own_writes import OwnWrites
from master.controllers.volumes import CLAIM, VOLUME, VolumeController
from proto import core_pb2, storage_pb2

__all__ = ["RESYNC", "PersistentVolumeBinder"]

log = structlog.get_logger("controllers.persistentvolume")

RESYNC = 15.0
Stored = TypeVar("Stored", core_pb2.PersistentVolume, core_pb2.PersistentVolumeClaim)
YES = "yes"


class PersistentVolumeBinder(VolumeController):
    """Binds claims to volumes and keeps both phases, as Kubernetes' binder does."""

    name = "persistentvolume-binder"
    component = "persistentvolume-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.fresh_volumes = OwnWrites[core_pb2.PersistentVolume](self.volumes)
        self.fresh_claims = OwnWrites[core_pb2.PersistentVolumeClaim](self.claims)
        self.claims.add_handler(
            on_add=self._claim_changed,
            on_update=lambda o, n: self._claim_changed(n),
            on_delete=self._claim_deleted,
        )
        self.volumes.add_handler(
            on_add=self._volume_changed,
            on_update=lambda o, n: self._volume_changed(n),
        )
        self.classes.add_handler(
            on_add=lambda sc: self._pending_claims(),
            on_update=lambda o, n: self._pending_claims(),
        )

    # ---- handlers: keys only ----

    def _claim_changed(self, pvc: Any) -> None:
        self.queue.add(f"{CLAIM}{pvc.metadata.namespace}/{pvc.metadata.name}")
        if pvc.spec.volume_name:
            self.queue.add(f"{VOLUME}{pvc.spec.volume_name}")

    def _claim_deleted(self, pvc: Any) -> None:
        if pvc.spec.volume_name:
            self.queue.add(f"{VOLUME}{pvc.spec.volume_name}")

    def _volume_changed(self, pv: Any) -> None:
        self.queue.add(f"{VOLUME}{pv.metadata.name}")
        ref = pv.spec.claim_ref
        if ref.name:
            self.queue.add(f"{CLAIM}{ref.namespace}/{ref.name}")
        if pv.status.phase == "Available":
            # A volume free to bind: every claim still waiting may fit it now.
            self._pending_claims()

    def _pending_claims(self) -> None:
        for pvc in self.claims.list(copy=False):
            if not pvc.spec.volume_name:
                self.queue.add(f"{CLAIM}{pvc.metadata.namespace}/{pvc.metadata.name}")

    async def background(self) -> None:
        while True:
            await asyncio.sleep(RESYNC)
            for key in self.claims.keys():
                self.queue.add(f"{CLAIM}{key}")
            for key in self.volumes.keys():
                self.queue.add(f"{VOLUME}{key}")

    async def sync(self, key: str) -> None:
        try:
            await super().sync(key)
        except _Gone:
            return

    # ---- claims ----

    async def sync_claim(self, key: str) -> None:
        cached = self.fresh_claims.get(key)
        if cached is None or cached.metadata.deletion_timestamp:
            return
        pvc: core_pb2.PersistentVolumeClaim = copy_object(cached)
        if not pvc.spec.HasField("storage_class_name") and await self._give_default_class(pvc):
            return
        if pvc.spec.volume_name:
            await self._sync_bound_claim(pvc)
        else:
            await self._sync_unbound_claim(pvc)

    async def _give_default_class(self, pvc: core_pb2.PersistentVolumeClaim) -> bool:
        defaults = [
            sc
            for sc in self.classes.list(copy=False)
            if isinstance(sc, storage_pb2.StorageClass) and storage.is_default_class(sc)
        ]
        if not defaults or pvc.spec.volume_name:
            return False
        defaults.sort(key=lambda sc: sc.metadata.name)
        defaults.sort(key=lambda sc: sc.metadata.creation_timestamp, reverse=True)
        pvc.spec.storage_class_name = defaults[0].metadata.name
        log.info("default class given", key=kinds_key(pvc), storage_class=defaults[0].metadata.name)
        await self._write(self.client.update, pvc)
        return True

    async def _sync_unbound_claim(self, pvc: core_pb2.PersistentVolumeClaim) -> None:
        sc = self.claim_class(pvc)
        selected = pvc.metadata.annotations.get(storage.SELECTED_NODE, "")
        delayed = sc is not None and sc.volume_binding_mode == "WaitForFirstConsumer"
        if delayed and not selected:
            await self._claim_phase(pvc, "Pending")
            await self.events.record(
                pvc,
                "Normal",
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
            )
            return
        node_fits = None
        if selected:
            node = self.nodes.get(selected, copy=False)

            def node_fits(pv: core_pb2.PersistentVolume) -> bool:
                return node is not None and node_selector_matches(
                    pv.spec.node_affinity.required, node
                )

        volumes = [v for v in self.fresh_volumes.list() if isinstance(v, core_pb2.PersistentVolume)]
        pv = storage.find_matching_volume(pvc, volumes, node_fits=node_fits)
        if pv is not None:
            await self._bind(copy_object(pv), pvc)
            return
        await self._claim_phase(pvc, "Pending")
        if sc is not None and sc.provisioner and sc.provisioner != storage.NO_PROVISIONER:
            if pvc.metadata.annotations.get(storage.STORAGE_PROVISIONER) != sc.provisioner:
                pvc.metadata.annotations[storage.STORAGE_PROVISIONER] = sc.provisioner
                await self._write(self.client.update, pvc)
            await self.events.record(
                pvc,
                "Normal",
                "ExternalProvisioning",
                f"Waiting for a volume to be created either by the external provisioner "
                f"'{sc.provisioner}' or manually by the system administrator. If volume "
                "creation is delayed, please verify that the provisioner is running and "
                "correctly registered.",
            )
            return
        reason = (
            "no persistent volumes available for this claim and no storage class is set"
            if sc is None
            else f'storageclass.storage.k8s.io "{sc.metadata.name}" has no provisioner and '
            "no persistent volume fits this claim"
        )
        await self.events.record(pvc, "Normal", "FailedBinding", reason)

    async def _sync_bound_claim(self, pvc: core_pb2.PersistentVolumeClaim) -> None:
        cached = self.fresh_volumes.get(pvc.spec.volume_name)
        if cached is None:
            if pvc.status.phase == "Bound":
                await self._claim_phase(pvc, "Lost")
                await self.events.record(
                    pvc,
                    "Warning",
                    "ClaimLost",
                    "Bound claim has lost reference to PersistentVolume. Data on the "
                    "volume is lost!",
                )
            return
        pv: core_pb2.PersistentVolume = copy_object(cached)
        ref = pv.spec.claim_ref
        if not ref.name or _refers_to(pv, pvc):
            await self._bind(pv, pvc)
            return
        await self._claim_phase(pvc, "Pending")
        await self.events.record(
            pvc,
            "Warning",
            "FailedBinding",
            f'volume "{pv.metadata.name}" already bound to a different claim.',
        )

    # ---- binding: volume, then claim, each step its own write ----

    async def _bind(
        self, pv: core_pb2.PersistentVolume, pvc: core_pb2.PersistentVolumeClaim
    ) -> None:
        by_us = False
        if not _refers_to(pv, pvc) or not pv.spec.claim_ref.uid:
            ref = pv.spec.claim_ref
            ref.kind, ref.api_version = "PersistentVolumeClaim", "v1"
            ref.namespace, ref.name = pvc.metadata.namespace, pvc.metadata.name
            ref.uid, ref.resource_version = pvc.metadata.uid, pvc.metadata.resource_version
            pv.metadata.annotations[storage.BOUND_BY_CONTROLLER] = YES
            pv = await self._write(self.client.update, pv)
            by_us = True
        if pv.status.phase != "Bound":
            pv.status.phase = "Bound"
            pv.status.last_phase_transition_time = now()
            pv.status.reason = pv.status.message = ""
            pv = await self._write(self.client.update_status, pv)
        changed = False
        if pvc.spec.volume_name != pv.metadata.name:
            pvc.spec.volume_name = pv.metadata.name
            by_us = True
            changed = True
        annotations = pvc.metadata.annotations
        if annotations.get(storage.BIND_COMPLETED) != YES:
            annotations[storage.BIND_COMPLETED] = YES
            changed = True
        if by_us and annotations.get(storage.BOUND_BY_CONTROLLER) != YES:
            annotations[storage.BOUND_BY_CONTROLLER] = YES
            changed = True
        if changed:
            pvc = await self._write(self.client.update, pvc)
        status = pvc.status
        if (
            status.phase != "Bound"
            or list(status.access_modes) != list(pv.spec.access_modes)
            or dict(status.capacity) != dict(pv.spec.capacity)
        ):
            status.phase = "Bound"
            del status.access_modes[:]
            status.access_modes.extend(pv.spec.access_modes)
            status.capacity.clear()
            status.capacity.update(pv.spec.capacity)
            await self._write(self.client.update_status, pvc)
            log.info("bound", key=kinds_key(pvc), volume=pv.metadata.name)

    # ---- volumes ----

    async def sync_volume(self, name: str) -> None:
        cached = self.fresh_volumes.get(name)
        if cached is None:
            return
        pv: core_pb2.PersistentVolume = copy_object(cached)
        ref = pv.spec.claim_ref
        if not ref.name:
            await self._volume_phase(pv, "Available")
            return
        claim_key = f"{ref.namespace}/{ref.name}"
        pvc = self.fresh_claims.get(claim_key)
        if not ref.uid:
            # Pre-bound by its author to a claim by name: the claim's sync binds it.
            await self._volume_phase(pv, "Available")
            if pvc is not None:
                self.queue.add(f"{CLAIM}{claim_key}")
            return
        if pvc is None or pvc.metadata.uid != ref.uid:
            pvc = await self._claim_from_server(ref.namespace, ref.name)
        if pvc is not None and pvc.metadata.uid == ref.uid:
            if pvc.spec.volume_name == pv.metadata.name:
                await self._volume_phase(pv, "Bound")
            elif not pvc.spec.volume_name:
                self.queue.add(f"{CLAIM}{claim_key}")
            elif pv.metadata.annotations.get(storage.BOUND_BY_CONTROLLER) == YES:
                # The claim went to another volume: this one is free again.
                pv.spec.ClearField("claim_ref")
                await self._write(self.client.update, pv)
            return
        await self._released(pv)

    async def _released(self, pv: core_pb2.PersistentVolume) -> None:
        if pv.status.phase not in ("Released", "Failed"):
            pv = await self._volume_phase(pv, "Released")
            log.info(
                "released",
                key=pv.metadata.name,
                policy=pv.spec.persistent_volume_reclaim_policy,
            )
        if pv.spec.persistent_volume_reclaim_policy != "Delete":
            return
        if pv.metadata.annotations.get(storage.PROVISIONED_BY):
            return  # its provisioner deletes it, data first
        if pv.status.phase != "Failed":
            message = (
                f'error getting deleter volume plugin for volume "{pv.metadata.name}": '
                "no deletable volume plugin matched"
            )
            pv.status.message = message
            await self._volume_phase(pv, "Failed", reason="VolumeFailedDelete")
            await self.events.record(pv, "Warning", "VolumeFailedDelete", message)

    async def _claim_from_server(
        self, namespace: str, name: str
    ) -> core_pb2.PersistentVolumeClaim | None:
        """The claim as the API server has it: the cache may not have seen it yet, and a
        volume must never be released on a cache's word."""
        try:
            found = await self.client.get("persistentvolumeclaims", namespace, name)
        except NotFound:
            return None
        return found if isinstance(found, core_pb2.PersistentVolumeClaim) else None

    # ---- writes ----

    async def _volume_phase(
        self, pv: core_pb2.PersistentVolume, phase: str, *, reason: str = ""
    ) -> core_pb2.PersistentVolume:
        if pv.status.phase == phase and pv.status.reason == reason:
            return pv
        pv.status.phase = phase
        pv.status.reason = reason
        pv.status.last_phase_transition_time = now()
        if phase != "Failed":
            pv.status.message = ""
        return await self._write(self.client.update_status, pv)

    async def _claim_phase(self, pvc: core_pb2.PersistentVolumeClaim, phase: str) -> None:
        if pvc.status.phase != phase:
            pvc.status.phase = phase
            await self._write(self.client.update_status, pvc)

    async def _write(self, call: Callable[[Stored], Awaitable[Stored]], obj: Stored) -> Stored:
        """One guarded write. A Conflict (the cache was behind) propagates, and the queue
        retries with back-off; NotFound means the object went meanwhile: the sync ends."""
        try:
            written = await call(obj)
        except NotFound:
            raise _Gone() from None
        if isinstance(written, core_pb2.PersistentVolume):
            self.fresh_volumes.wrote(written)
        else:
            self.fresh_claims.wrote(written)
        return written


class _Gone(Exception):
    """The object went while being written: the sync ends; its deletion is its own event."""


def _refers_to(pv: core_pb2.PersistentVolume, pvc: core_pb2.PersistentVolumeClaim) -> bool:
    ref = pv.spec.claim_ref
    return (
        ref.name == pvc.metadata.name
        and ref.namespace == pvc.metadata.namespace
        and (not ref.uid or ref.uid == pvc.metadata.uid)
    )


def kinds_key(pvc: core_pb2.PersistentVolumeClaim) -> str:
    return f"{pvc.metadata.namespace}/{pvc.metadata.name}"

"""What the persistent-volume binder and the local-path provisioner share.

Both follow claims and volumes through one queue whose keys say which kind they name
(`claim:<ns>/<name>`, `volume:<name>`: a claim and a volume may have the same name), read
the same four caches, and look a claim's StorageClass up the same way. One base keeps the
two from drifting apart on the key format that each of them writes and parses.
"""

from __future__ import annotations

import abc

from client import storage
from master.controllers.base import Context, Controller
from proto import core_pb2, storage_pb2

__all__ = ["CLAIM", "VOLUME", "VolumeController"]

CLAIM, VOLUME = "claim:", "volume:"


class VolumeController(Controller):
    """A controller of claims and volumes: `sync` hands each key to its kind's step."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.claims = ctx.informers.get("persistentvolumeclaims")
        self.volumes = ctx.informers.get("persistentvolumes")
        self.classes = ctx.informers.get("storageclasses")
        self.nodes = ctx.informers.get("nodes")

    async def sync(self, key: str) -> None:
        if key.startswith(CLAIM):
            await self.sync_claim(key.removeprefix(CLAIM))
        elif key.startswith(VOLUME):
            await self.sync_volume(key.removeprefix(VOLUME))

    @abc.abstractmethod
    async def sync_claim(self, key: str) -> None:
        """One step for the claim at `key` (`<ns>/<name>`)."""

    @abc.abstractmethod
    async def sync_volume(self, name: str) -> None:
        """One step for the volume `name`."""

    def claim_class(self, pvc: core_pb2.PersistentVolumeClaim) -> storage_pb2.StorageClass | None:
        """The cached StorageClass the claim names; None without one, or when it is not
        (or not yet) in the cache."""
        name = storage.claim_class(pvc)
        found = self.classes.get(name, copy=False) if name else None
        return found if isinstance(found, storage_pb2.StorageClass) else None

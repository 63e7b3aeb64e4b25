"""PV protection: a volume bound to a claim is not deleted until it is released.

As Kubernetes' pv-protection controller: every volume carries the finalizer
`kubernetes.io/pv-protection` (added at create by the API server, and here again if it
is missing); a volume marked for deletion keeps it while its phase is Bound, so deleting
a volume under a claim in use cannot pull the data from under the claim. Once the claim
is gone the binder marks the volume Released and the finalizer goes.
"""

from __future__ import annotations

import structlog

from client.errors import Conflict, NotFound
from client.informer import copy_object
from client.storage import PV_PROTECTION
from master.controllers.base import Context, Controller
from proto import core_pb2

__all__ = ["PVProtectionController"]

log = structlog.get_logger("controllers.pv_protection")


class PVProtectionController(Controller):
    """Adds the protection finalizer to volumes; removes it once a deleted volume is unbound."""

    name = "pv-protection"
    component = "pv-protection-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.volumes = ctx.informers.get("persistentvolumes")
        self.volumes.add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))

    async def sync(self, key: str) -> None:
        cached = self.volumes.get(key, copy=False)
        if cached is None:
            return
        pv: core_pb2.PersistentVolume = copy_object(cached)
        meta = pv.metadata
        if not meta.deletion_timestamp:
            if PV_PROTECTION in meta.finalizers:
                return
            meta.finalizers.append(PV_PROTECTION)
        elif PV_PROTECTION not in meta.finalizers or pv.status.phase == "Bound":
            return
        else:
            meta.finalizers.remove(PV_PROTECTION)
            log.info("volume not bound, finalizer removed", key=key)
        try:
            await self.client.update(pv)
        except NotFound:
            return
        except Conflict:
            self.enqueue(pv)

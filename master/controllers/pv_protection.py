"""PV protection: a volume bound to a claim is not deleted until it is released.

As Kubernetes' pv-protection controller: every volume carries the finalizer
`kubernetes.io/pv-protection` (added at create by the API server, and here again if it
is missing); a volume marked for deletion keeps it while its phase is Bound, so deleting
a volume under a claim in use cannot pull the data from under the claim. Once the claim
is gone the binder marks the volume Released and the finalizer goes. The finalizer loop
is protection.py's, shared with pvc-protection.
"""

from __future__ import annotations

from client.storage import PV_PROTECTION
from master.controllers.protection import ProtectionController
from proto import core_pb2

__all__ = ["PVProtectionController"]


class PVProtectionController(ProtectionController):
    """Adds the protection finalizer to volumes; removes it once a deleted volume is unbound."""

    name = "pv-protection"
    component = "pv-protection-controller"
    finalizer = PV_PROTECTION
    resource = "persistentvolumes"

    async def in_use(self, obj: core_pb2.PersistentVolume) -> bool:
        return obj.status.phase == "Bound"

"""PersistentVolumeClaims: Pending when created, Filesystem unless told, protected in use.

The default StorageClass is not filled in here but by admission
(admission/defaultstorageclass.py), which reads the classes in the create's own etcd round
trip. The `kubernetes.io/pvc-protection` finalizer is added at create, as Kubernetes'
StorageObjectInUseProtection admission adds it: the protection controller removes it only
once no running pod uses the claim, so deleting a claim in use marks it and nothing more.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from client.storage import PVC_PROTECTION
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import storage
from master.apiserver.validation.errors import Errors


class PersistentVolumeClaimStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        obj.status.Clear()
        obj.status.phase = "Pending"
        if PVC_PROTECTION not in obj.metadata.finalizers:
            obj.metadata.finalizers.append(PVC_PROTECTION)

    def default(self, obj: Any) -> None:
        if not obj.spec.HasField("volume_mode"):
            obj.spec.volume_mode = "Filesystem"

    def validate(self, errs: Errors, obj: Any) -> None:
        storage.validate_claim(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        storage.validate_claim_update(errs, new, old)


STRATEGY = PersistentVolumeClaimStrategy(by_resource("persistentvolumeclaims"))

"""StorageClasses: Delete and Immediate unless told; what makes volumes never changes.

Kubernetes defaults reclaimPolicy to Delete and volumeBindingMode to Immediate, and
forbids changing the provisioner, parameters, reclaim policy and binding mode: volumes
already made from the class were made by those rules. Labels, annotations (the default
marker among them), mount options and allowVolumeExpansion may change.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import storage
from master.apiserver.validation.errors import Errors


class StorageClassStrategy(Strategy):
    def default(self, obj: Any) -> None:
        if not obj.HasField("reclaim_policy"):
            obj.reclaim_policy = "Delete"
        if not obj.HasField("volume_binding_mode"):
            obj.volume_binding_mode = "Immediate"

    def validate(self, errs: Errors, obj: Any) -> None:
        storage.validate_storage_class(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        storage.validate_storage_class_update(errs, new, old)


STRATEGY = StorageClassStrategy(by_resource("storageclasses"))

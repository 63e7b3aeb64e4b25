"""PersistentVolumes: Pending when created, Retain unless told, protected from early deletion.

A new volume's phase is Pending until the persistent-volume controller has looked at it;
its reclaim policy defaults to Retain, as Kubernetes defaults a hand-made volume (the
local-path provisioner sets Delete on the volumes it makes, from their class). The
`kubernetes.io/pv-protection` finalizer is added at create, as Kubernetes'
StorageObjectInUseProtection admission adds it, so a volume still bound to a claim is
only marked for deletion until the controller lets it go.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from client.storage import PV_PROTECTION
from client.timestamps import now
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import storage
from master.apiserver.validation.errors import Errors


class PersistentVolumeStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        obj.status.Clear()
        obj.status.phase = "Pending"
        obj.status.last_phase_transition_time = now()
        if PV_PROTECTION not in obj.metadata.finalizers:
            obj.metadata.finalizers.append(PV_PROTECTION)

    def default(self, obj: Any) -> None:
        spec = obj.spec
        if not spec.persistent_volume_reclaim_policy:
            spec.persistent_volume_reclaim_policy = "Retain"
        if not spec.HasField("volume_mode"):
            spec.volume_mode = "Filesystem"

    def validate(self, errs: Errors, obj: Any) -> None:
        storage.validate_volume(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        storage.validate_volume_update(errs, new, old)


STRATEGY = PersistentVolumeStrategy(by_resource("persistentvolumes"))

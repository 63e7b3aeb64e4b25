"""The storage objects the scheduler sees: claims, volumes and classes, kept by informers.

The volume-binding plugin reads them from the cycle's snapshot, as the other plugins
read nodes; the scheduler's handlers keep this store, so plugins stay free of I/O. It is
one shared store (not copied per cycle): a cycle runs between two awaits, so no handler
changes it while a plugin reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from proto import core_pb2, storage_pb2


@dataclass
class VolumeObjects:
    """Claims by `namespace/name`, volumes and classes by name."""

    claims: dict[str, core_pb2.PersistentVolumeClaim] = field(default_factory=dict)
    volumes: dict[str, core_pb2.PersistentVolume] = field(default_factory=dict)
    classes: dict[str, storage_pb2.StorageClass] = field(default_factory=dict)

    def set(self, obj: object) -> None:
        """Add or replace a claim, volume or class."""
        if isinstance(obj, core_pb2.PersistentVolumeClaim):
            self.claims[f"{obj.metadata.namespace}/{obj.metadata.name}"] = obj
        elif isinstance(obj, core_pb2.PersistentVolume):
            self.volumes[obj.metadata.name] = obj
        elif isinstance(obj, storage_pb2.StorageClass):
            self.classes[obj.metadata.name] = obj

    def remove(self, obj: object) -> None:
        """Forget a claim, volume or class."""
        if isinstance(obj, core_pb2.PersistentVolumeClaim):
            self.claims.pop(f"{obj.metadata.namespace}/{obj.metadata.name}", None)
        elif isinstance(obj, core_pb2.PersistentVolume):
            self.volumes.pop(obj.metadata.name, None)
        elif isinstance(obj, storage_pb2.StorageClass):
            self.classes.pop(obj.metadata.name, None)

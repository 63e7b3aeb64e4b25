"""DefaultStorageClass: a claim created without a class gets the default StorageClass.

As Kubernetes' admission plugin of that name: only at create, only when
spec.storageClassName is absent (an explicit "" asks for a volume of no class and is
kept), and the default is the StorageClass annotated
`storageclass.kubernetes.io/is-default-class: "true"`; with several, the newest (ties by
name), as Kubernetes chooses since 1.26 rather than refusing the claim. Without a default
the claim stays classless; the persistent-volume controller gives it the default class
later if one appears (Kubernetes' retroactive default assignment). The classes are read
in the same etcd round trip as the namespace's other admission reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from client.storage import DEFAULT_CLASS_ANNOTATION

__all__ = ["apply", "default_class"]


def default_class(classes: Iterable[Any]) -> str | None:
    """The name of the default StorageClass among `classes`, or None."""
    defaults = [
        c for c in classes if c.metadata.annotations.get(DEFAULT_CLASS_ANNOTATION) == "true"
    ]
    if not defaults:
        return None
    # Newest first; equal creation times: the name that sorts first.
    ordered = sorted(defaults, key=lambda c: c.metadata.name)
    ordered.sort(key=lambda c: c.metadata.creation_timestamp, reverse=True)
    return str(ordered[0].metadata.name)


def apply(claim: Any, classes: Iterable[Any]) -> None:
    """Set `claim`'s class to the default one when it names none."""
    if claim.spec.HasField("storage_class_name"):
        return
    name = default_class(classes)
    if name is not None:
        claim.spec.storage_class_name = name

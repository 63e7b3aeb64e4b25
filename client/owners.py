"""Owner references, built one way for the controller manager and for operators.

An object's controlling owner reference is what the garbage collector and every
controller's adoption read; the example operator builds the same reference as the
built-in controllers, so it lives in client/, which both may import.
"""

from __future__ import annotations

from client.kinds import Object
from proto import meta_pb2

__all__ = ["owner_reference"]


def owner_reference(owner: Object, *, block: bool = True) -> meta_pb2.OwnerReference:
    """A controlling owner reference to `owner`."""
    return meta_pb2.OwnerReference(
        api_version=owner.api_version,
        kind=owner.kind,
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=True,
        block_owner_deletion=block,
    )

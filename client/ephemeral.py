"""Ephemeral containers read as the containers they are.

An EphemeralContainer carries a Container's fields under the same field numbers
(proto/core.proto), as Kubernetes inlines EphemeralContainerCommon, so one is turned
into a Container by its bytes: whatever the kubelet does with a Container's image,
command, environment, mounts and terminal applies unchanged, and a field added to both
messages later needs no copying code.
"""

from __future__ import annotations

from proto import core_pb2

__all__ = ["as_container"]


def as_container(ephemeral: core_pb2.EphemeralContainer) -> core_pb2.Container:
    """The Container an ephemeral container runs as (targetContainerName dropped)."""
    container = core_pb2.Container.FromString(ephemeral.SerializeToString())
    container.DiscardUnknownFields()
    return container

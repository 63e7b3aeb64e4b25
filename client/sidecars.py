"""Sidecar containers (Kubernetes' restartable init containers), named in one place.

An init container with `restartPolicy: Always` is a sidecar: it starts in its turn among
the init containers but does not have to finish; it keeps running beside the app
containers, restarts whenever it exits, and stops after them. The scheduler, the kubelet,
validation and kubectl's columns all need to tell the two kinds of init container apart,
so the test lives here.
"""

from __future__ import annotations

from proto import core_pb2

SIDECAR_RESTART_POLICY = "Always"


def is_sidecar(container: core_pb2.Container) -> bool:
    """Whether an init container is a sidecar (restartPolicy Always)."""
    return container.restart_policy == SIDECAR_RESTART_POLICY


def sidecars(spec: core_pb2.PodSpec) -> list[core_pb2.Container]:
    """The pod's sidecars, in their start order."""
    return [c for c in spec.init_containers if is_sidecar(c)]

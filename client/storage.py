"""Storage rules every component shares: the well-known names, and which volume fits a claim.

The persistent-volume controller binds claims with `find_matching_volume`, and the
scheduler's volume-binding plugin asks the same function whether a claim could bind on a
node; keeping one copy means the scheduler never promises a volume that the controller
would then refuse to bind. The names (annotations, finalizers, the default class marker)
are Kubernetes' own, so manifests and tools written for Kubernetes keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction

from client.quantity import parse_quantity
from client.selectors import from_proto
from proto import core_pb2, storage_pb2

__all__ = [
    "BIND_COMPLETED",
    "BOUND_BY_CONTROLLER",
    "DEFAULT_CLASS_ANNOTATION",
    "LOCAL_PATH_CLASS",
    "LOCAL_PATH_PROVISIONER",
    "NO_PROVISIONER",
    "PROVISIONED_BY",
    "PVC_PROTECTION",
    "PV_PROTECTION",
    "SELECTED_NODE",
    "STORAGE_PROVISIONER",
    "claim_class",
    "claim_request",
    "find_matching_volume",
    "is_default_class",
    "volume_capacity",
    "volume_node_names",
]

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
"""On a StorageClass, "true": claims that name no class get this one."""
SELECTED_NODE = "volume.kubernetes.io/selected-node"
"""On a claim: the node the scheduler chose for its first consumer (WaitForFirstConsumer)."""
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
"""On a claim: the provisioner asked to make its volume."""
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
"""On a volume: the provisioner that made it, and so the one that deletes it."""
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
"""On a volume or claim: the controller, not the user, wrote the binding."""
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
"""On a claim: the controller has finished binding it."""
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
"""A class for hand-made volumes only: nothing provisions for it."""
LOCAL_PATH_PROVISIONER = "tugboat.io/local-path"
LOCAL_PATH_CLASS = "local-path"


def is_default_class(sc: storage_pb2.StorageClass) -> bool:
    """Marked default (the annotation's value is "true", as Kubernetes reads it)."""
    return sc.metadata.annotations.get(DEFAULT_CLASS_ANNOTATION) == "true"


def claim_class(pvc: core_pb2.PersistentVolumeClaim) -> str:
    """The claim's class; "" asks for a volume of no class."""
    return pvc.spec.storage_class_name


def _storage(values: object, key: str = "storage") -> Fraction:
    text = values.get(key, "") if hasattr(values, "get") else ""
    try:
        return parse_quantity(text) if text else Fraction(0)
    except ValueError:
        return Fraction(0)


def claim_request(pvc: core_pb2.PersistentVolumeClaim) -> Fraction:
    """Bytes of storage the claim asks for."""
    return _storage(pvc.spec.resources.requests)


def volume_capacity(pv: core_pb2.PersistentVolume) -> Fraction:
    """Bytes of storage the volume has."""
    return _storage(pv.spec.capacity)


def volume_node_names(pv: core_pb2.PersistentVolume) -> list[str]:
    """The nodes a volume's affinity names by hostname or metadata.name ([] when it names
    none that way; a local-path volume names exactly one)."""
    names: list[str] = []
    for term in pv.spec.node_affinity.required.node_selector_terms:
        for req in [*term.match_expressions, *term.match_fields]:
            if req.key in ("kubernetes.io/hostname", "metadata.name") and req.operator == "In":
                names.extend(req.values)
    return names


def _bound_to(pv: core_pb2.PersistentVolume, pvc: core_pb2.PersistentVolumeClaim) -> bool:
    ref = pv.spec.claim_ref
    if ref.name != pvc.metadata.name or ref.namespace != pvc.metadata.namespace:
        return False
    return not ref.uid or ref.uid == pvc.metadata.uid


def find_matching_volume(
    pvc: core_pb2.PersistentVolumeClaim,
    volumes: Iterable[core_pb2.PersistentVolume],
    *,
    node_fits: Callable[[core_pb2.PersistentVolume], bool] | None = None,
    taken: Iterable[str] = (),
) -> core_pb2.PersistentVolume | None:
    """The volume `pvc` should bind to, as Kubernetes' FindMatchingVolume chooses it.

    A volume already pre-bound to this claim (its claimRef names it) wins outright. Else
    the smallest Available volume that is not being deleted, not claimed by another,
    of the claim's class and volume mode, offering every access mode the claim asks for,
    matching its selector and at least as large as its request. `node_fits`, when given,
    must accept the volume's node affinity (the node a WaitForFirstConsumer claim's
    consumer goes to); `taken` names volumes another claim was just promised.
    """
    wanted = claim_request(pvc)
    modes = set(pvc.spec.access_modes)
    mode = pvc.spec.volume_mode or "Filesystem"
    selector = from_proto(pvc.spec.selector) if pvc.spec.HasField("selector") else None
    skip = set(taken)
    best: core_pb2.PersistentVolume | None = None
    for pv in volumes:
        if pv.metadata.name in skip or (pv.spec.volume_mode or "Filesystem") != mode:
            continue
        if pv.metadata.deletion_timestamp:
            continue
        fits = node_fits is None or not pv.spec.HasField("node_affinity") or node_fits(pv)
        if _bound_to(pv, pvc):
            return pv if fits else None
        if not fits or pv.status.phase != "Available" or pv.spec.claim_ref.name:
            continue
        if pv.spec.storage_class_name != claim_class(pvc):
            continue
        if selector is not None and not selector.matches(pv.metadata.labels):
            continue
        if not modes <= set(pv.spec.access_modes):
            continue
        size = volume_capacity(pv)
        if size < wanted:
            continue
        if best is None or size < volume_capacity(best):
            best = pv
    return best

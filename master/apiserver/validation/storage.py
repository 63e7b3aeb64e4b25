"""PersistentVolumes, PersistentVolumeClaims and StorageClasses, in Kubernetes' words.

Follows `pkg/apis/core/validation` (ValidatePersistentVolume, ValidatePersistentVolumeClaim
and their updates) and `pkg/apis/storage/validation` (ValidateStorageClass) for the fields
Tugboat serves. The update rules are the ones that keep binding honest: once a claim is
bound, only its storage request may change (and only grow), so a claim cannot be
re-pointed at another volume behind the controller's back; a volume's source never changes;
a class's provisioner, parameters, reclaim policy and binding mode are fixed at creation,
because the volumes already made from it were made by those rules.
"""

from __future__ import annotations

import posixpath

from client.names import is_qualified_name
from client.quantity import parse_quantity
from master.apiserver.validation.claims import (
    ACCESS_MODES,
    VOLUME_MODES,
    access_modes,
    class_name,
    positive_storage,
    validate_claim_spec,
)
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.pod import HOST_PATH_TYPES, _node_selector_term
from proto import core_pb2, storage_pb2

__all__ = [
    "ACCESS_MODES",
    "BINDING_MODES",
    "RECLAIM_POLICIES",
    "VOLUME_MODES",
    "validate_claim",
    "validate_claim_update",
    "validate_storage_class",
    "validate_storage_class_update",
    "validate_volume",
    "validate_volume_update",
]

RECLAIM_POLICIES = ("Delete", "Retain")
"""Kubernetes also has Recycle (deprecated, and never implemented here)."""
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
MAX_PARAMETERS_BYTES = 256 * 1024


def _absolute_path(errs: Errors, path: str, value: str) -> None:
    if not value:
        errs.required(path)
    elif ".." in value.split("/"):
        errs.invalid(path, value, "must not contain '..'")


# ---- PersistentVolume ----


def validate_volume(errs: Errors, pv: core_pb2.PersistentVolume) -> None:
    """Access modes, a storage capacity, exactly one source, node affinity for local."""
    spec = pv.spec
    access_modes(errs, list(spec.access_modes), "spec.accessModes", required_detail="")
    if not spec.capacity:
        errs.required("spec.capacity")
    if "storage" not in spec.capacity or len(spec.capacity) > 1:
        errs.unsupported("spec.capacity", dict(spec.capacity), ("storage",))
    for name, text in sorted(spec.capacity.items()):
        positive_storage(errs, index("spec.capacity", name), text)
    errs.enum(
        "spec.persistentVolumeReclaimPolicy",
        spec.persistent_volume_reclaim_policy,
        RECLAIM_POLICIES,
        required=False,
    )
    class_name(errs, "spec.storageClassName", spec.storage_class_name)
    if spec.HasField("volume_mode"):
        errs.enum("spec.volumeMode", spec.volume_mode, VOLUME_MODES, required=True)
    sources = 0
    if spec.HasField("host_path"):
        sources += 1
        _absolute_path(errs, "spec.hostPath.path", spec.host_path.path)
        if spec.host_path.type not in HOST_PATH_TYPES:
            errs.unsupported("spec.hostPath.type", spec.host_path.type, HOST_PATH_TYPES)
    if spec.HasField("local"):
        if sources:
            errs.forbidden("spec.local", "may not specify more than 1 volume type")
        sources += 1
        _absolute_path(errs, "spec.local.path", spec.local.path)
        if spec.local.path and not posixpath.isabs(spec.local.path):
            errs.invalid("spec.local.path", spec.local.path, "must be an absolute path")
        if not spec.HasField("node_affinity"):
            errs.required("spec.nodeAffinity", "Local volume requires node affinity")
    if sources == 0:
        errs.required("spec", "must specify a volume type")
    if spec.HasField("node_affinity"):
        _node_affinity(errs, spec.node_affinity, "spec.nodeAffinity")
    if spec.HasField("claim_ref"):
        ref = spec.claim_ref
        if not ref.name:
            errs.required("spec.claimRef.name")
        if not ref.namespace:
            errs.required("spec.claimRef.namespace")
    errs.enum(
        "status.phase",
        pv.status.phase,
        ("Pending", "Available", "Bound", "Released", "Failed"),
        required=False,
    )


def _node_affinity(errs: Errors, affinity: core_pb2.VolumeNodeAffinity, path: str) -> None:
    if not affinity.HasField("required"):
        errs.required(child(path, "required"), "must specify required node constraints")
        return
    terms_path = child(child(path, "required"), "nodeSelectorTerms")
    terms = affinity.required.node_selector_terms
    if not terms:
        errs.required(terms_path, "must have at least one node selector term")
    for i, term in enumerate(terms):
        _node_selector_term(errs, term, index(terms_path, i))


def validate_volume_update(
    errs: Errors, new: core_pb2.PersistentVolume, old: core_pb2.PersistentVolume
) -> None:
    """The source, volume mode and node affinity are fixed once the volume exists."""
    if (new.spec.host_path, new.spec.local) != (old.spec.host_path, old.spec.local) or (
        new.spec.HasField("host_path"),
        new.spec.HasField("local"),
    ) != (old.spec.HasField("host_path"), old.spec.HasField("local")):
        errs.forbidden(
            "spec.persistentvolumesource",
            "spec.persistentvolumesource is immutable after creation",
        )
    if new.spec.volume_mode != old.spec.volume_mode:
        errs.immutable("spec.volumeMode", new.spec.volume_mode)
    if old.spec.HasField("node_affinity") and new.spec.node_affinity != old.spec.node_affinity:
        errs.invalid("spec.nodeAffinity", "", "field is immutable once set")


# ---- PersistentVolumeClaim ----


def validate_claim(errs: Errors, pvc: core_pb2.PersistentVolumeClaim) -> None:
    """Its spec (claims.py, shared with ephemeral volumes' templates) and its phase."""
    validate_claim_spec(errs, pvc.spec, "spec")
    errs.enum("status.phase", pvc.status.phase, ("Pending", "Bound", "Lost"), required=False)


def validate_claim_update(
    errs: Errors, new: core_pb2.PersistentVolumeClaim, old: core_pb2.PersistentVolumeClaim
) -> None:
    """Kubernetes' rule: the spec is immutable, but for setting volumeName once, setting a
    class once on a claim that had none, and growing the storage request of a bound claim."""
    new_spec = core_pb2.PersistentVolumeClaimSpec()
    new_spec.CopyFrom(new.spec)
    old_spec = core_pb2.PersistentVolumeClaimSpec()
    old_spec.CopyFrom(old.spec)
    if not old_spec.volume_name:
        old_spec.volume_name = new_spec.volume_name
    if not old_spec.HasField("storage_class_name") and new_spec.HasField("storage_class_name"):
        old_spec.storage_class_name = new_spec.storage_class_name
    bound = old.status.phase == "Bound"
    old_size = old.spec.resources.requests.get("storage", "")
    new_size = new.spec.resources.requests.get("storage", "")
    if bound and new_size:
        new_spec.resources.requests["storage"] = old_size
    if new_spec != old_spec:
        errs.forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and "
            "volumeAttributesClassName for bound claims",
        )
        return
    try:
        shrinks = parse_quantity(new_size) < parse_quantity(old_size)
    except ValueError:
        return  # the new size's own problem is reported by validate_claim
    if shrinks:
        errs.forbidden(
            "spec.resources.requests.storage", "field can not be less than previous value"
        )


# ---- StorageClass ----


def validate_storage_class(errs: Errors, sc: storage_pb2.StorageClass) -> None:
    """A provisioner name, parameters, and the known policy and binding mode."""
    errs.syntax("provisioner", sc.provisioner, is_qualified_name)
    size = 0
    for key, value in sc.parameters.items():
        if not key:
            errs.invalid("parameters", key, "key name must not be empty")
        size += len(key) + len(value)
    if size > MAX_PARAMETERS_BYTES:
        errs.too_long("parameters", MAX_PARAMETERS_BYTES)
    if sc.HasField("reclaim_policy"):
        errs.enum("reclaimPolicy", sc.reclaim_policy, RECLAIM_POLICIES, required=True)
    if not sc.HasField("volume_binding_mode"):
        errs.required("volumeBindingMode")
    else:
        errs.enum("volumeBindingMode", sc.volume_binding_mode, BINDING_MODES, required=True)
    for i, term in enumerate(sc.allowed_topologies):
        tpath = index("allowedTopologies", i)
        if not term.match_label_expressions:
            errs.required(child(tpath, "matchLabelExpressions"), "must have at least one term")
        for j, req in enumerate(term.match_label_expressions):
            rpath = index(child(tpath, "matchLabelExpressions"), j)
            errs.invalid_each(child(rpath, "key"), req.key, is_qualified_name(req.key))
            if not req.values:
                errs.required(child(rpath, "values"), "must specify as least one value")


def validate_storage_class_update(
    errs: Errors, new: storage_pb2.StorageClass, old: storage_pb2.StorageClass
) -> None:
    """Provisioner, parameters, reclaim policy and binding mode are fixed."""
    if dict(new.parameters) != dict(old.parameters):
        errs.forbidden("parameters", "updates to parameters are forbidden.")
    if new.provisioner != old.provisioner:
        errs.forbidden("provisioner", "updates to provisioner are forbidden.")
    if new.reclaim_policy != old.reclaim_policy:
        errs.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.")
    if new.volume_binding_mode != old.volume_binding_mode:
        errs.immutable("volumeBindingMode", new.volume_binding_mode)

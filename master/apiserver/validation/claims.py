"""A claim's spec, wherever it is written: in a PersistentVolumeClaim, and in the
`volumeClaimTemplate` of a pod's generic ephemeral volume.

Kubernetes validates both with one ValidatePersistentVolumeClaimSpec, so a template that
passes here makes a claim that the claim's own validation then accepts; the ephemeral-
volume controller copies it unchanged. This module sits apart from storage.py because
pod.py needs it and storage.py needs pod.py (host path types, node selector terms): one
module each way would import the other.

A template's metadata may carry labels and annotations only, Kubernetes' allow-list: any
other field is refused by name rather than dropped, since the controller would not copy
it and a user who set it would be surprised.
"""

from __future__ import annotations

from fractions import Fraction

from client.ephemeral_volumes import claim_name
from client.names import is_dns1123_subdomain
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.fields import quantity
from master.apiserver.validation.meta import (
    validate_annotations,
    validate_label_selector,
    validate_labels,
)
from proto import core_pb2

__all__ = [
    "ACCESS_MODES",
    "VOLUME_MODES",
    "access_modes",
    "class_name",
    "positive_storage",
    "validate_claim_names",
    "validate_claim_spec",
    "validate_ephemeral_volume",
]

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES = ("Block", "Filesystem")
_TEMPLATE_META_ALLOWED = ("labels", "annotations")
_NOT_FOR_TEMPLATE = "cannot be set for an ephemeral volume"
_GO_NAMES = {"uid": "uID"}
"""Kubernetes names a refused metadata field by its Go name with the first letter lowered
(validateFieldAllowList), which for UID gives `uID`; the others read as their JSON names."""


def access_modes(errs: Errors, modes: list[str], path: str, *, required_detail: str) -> None:
    """Known modes, at least one, and ReadWriteOncePod only alone."""
    if not modes:
        errs.required(path, required_detail)
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.unsupported(path, mode, ACCESS_MODES)
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.forbidden(path, "may not use ReadWriteOncePod with other access modes")


def positive_storage(errs: Errors, path: str, text: str) -> Fraction | None:
    """A quantity (fields.quantity's checks) that is more than zero, as storage must be."""
    value = quantity(errs, path, text)
    if value is not None and value == 0:
        errs.invalid(path, text, "must be greater than zero")
        return None
    return value


def class_name(errs: Errors, path: str, name: str) -> None:
    """A StorageClass name, when one is given."""
    if name:
        errs.invalid_each(path, name, is_dns1123_subdomain(name))


def validate_claim_spec(errs: Errors, spec: core_pb2.PersistentVolumeClaimSpec, path: str) -> None:
    """Access modes, a storage request, a valid class name, selector and volume mode."""
    access_modes(
        errs,
        list(spec.access_modes),
        child(path, "accessModes"),
        required_detail="at least 1 access mode is required",
    )
    if spec.HasField("selector"):
        validate_label_selector(errs, spec.selector, child(path, "selector"))
    storage = spec.resources.requests.get("storage")
    if storage is None:
        errs.required(index(child(path, "resources"), "storage"))
    else:
        positive_storage(errs, index(child(path, "resources"), "storage"), storage)
    for name, text in sorted(spec.resources.limits.items()):
        positive_storage(errs, index(child(path, "resources.limits"), name), text)
    if spec.HasField("storage_class_name"):
        class_name(errs, child(path, "storageClassName"), spec.storage_class_name)
    if spec.HasField("volume_mode"):
        errs.enum(child(path, "volumeMode"), spec.volume_mode, VOLUME_MODES, required=True)
    if spec.volume_name:
        errs.invalid_each(
            child(path, "volumeName"), spec.volume_name, is_dns1123_subdomain(spec.volume_name)
        )


def _claim_template(
    errs: Errors, template: core_pb2.PersistentVolumeClaimTemplate, path: str
) -> None:
    mpath = child(path, "metadata")
    meta = template.metadata
    validate_annotations(errs, meta.annotations, child(mpath, "annotations"))
    validate_labels(errs, meta.labels, child(mpath, "labels"))
    for field, _value in meta.ListFields():
        if field.name not in _TEMPLATE_META_ALLOWED:
            name = _GO_NAMES.get(field.name, field.json_name)
            errs.forbidden(child(mpath, name), _NOT_FOR_TEMPLATE)
    validate_claim_spec(errs, template.spec, child(path, "spec"))


def validate_ephemeral_volume(
    errs: Errors, source: core_pb2.EphemeralVolumeSource, path: str
) -> None:
    """A volume's `ephemeral` (at `path`): a claim template is required, and valid."""
    if not source.HasField("volume_claim_template"):
        errs.required(child(path, "volumeClaimTemplate"))
        return
    _claim_template(errs, source.volume_claim_template, child(path, "volumeClaimTemplate"))


def validate_claim_names(errs: Errors, pod: core_pb2.Pod) -> None:
    """Each ephemeral volume's claim, `<pod>-<volume>`, must be a valid claim name; only a
    pod has a name to check, never a template (Kubernetes skips it there too)."""
    if not pod.metadata.name:
        return
    for i, v in enumerate(pod.spec.volumes):
        if not v.HasField("ephemeral") or not v.name:
            continue
        claim = claim_name(pod, v)
        for message in is_dns1123_subdomain(claim):
            errs.invalid(
                child(index("spec.volumes", i), "name"), v.name, f'PVC name "{claim}": {message}'
            )

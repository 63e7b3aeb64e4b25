"""Fields of Kubernetes features that are off by default in 1.32: accepted and dropped, as
kube-apiserver 1.32 drops them, with a warning kube-apiserver does not give.

kube-apiserver knows every field of its types, also those of alpha and beta features
whose gates are off by default, and its strategies clear such a field on write
(`dropDisabledFields`): the manifest applies and the field is gone. The docs' examples
of pod-level resources, in-place resize, user namespaces and dynamic resource
allocation therefore apply on a default 1.32 cluster. Tugboat's types have no such
fields, so strict decoding would refuse them as unknown; they are dropped here first,
by path, before decoding. The client is warned, since a silently lost field is what
fieldValidation exists to prevent; the gRPC front-end, always strict, still refuses them.
"""

from __future__ import annotations

from typing import Any

from client.kinds import Kind

__all__ = ["drop_gated"]

_POD_SPEC_FIELDS: tuple[tuple[str, str], ...] = (
    ("resources", "PodLevelResources"),
    ("containers[*].resizePolicy", "InPlacePodVerticalScaling"),
    ("initContainers[*].resizePolicy", "InPlacePodVerticalScaling"),
    ("hostUsers", "UserNamespacesSupport"),
    ("securityContext.supplementalGroupsPolicy", "SupplementalGroupsPolicy"),
    ("resourceClaims", "DynamicResourceAllocation"),
    ("containers[*].resources.claims", "DynamicResourceAllocation"),
    ("initContainers[*].resources.claims", "DynamicResourceAllocation"),
)
"""Paths inside a PodSpec ("[*]": every item of a list) and the feature each belongs to."""

_POD_SPECS: dict[str, tuple[str, ...]] = {
    "pods": ("spec",),
    "replicasets": ("spec.template.spec",),
    "replicationcontrollers": ("spec.template.spec",),
    "deployments": ("spec.template.spec",),
    "daemonsets": ("spec.template.spec",),
    "statefulsets": ("spec.template.spec",),
    "jobs": ("spec.template.spec",),
    "cronjobs": ("spec.jobTemplate.spec.template.spec",),
}
"""Where each kind holds a PodSpec."""

_OTHER: dict[str, tuple[tuple[str, str], ...]] = {
    "persistentvolumeclaims": (("spec.volumeAttributesClassName", "VolumeAttributesClass"),),
    "statefulsets": (
        ("spec.volumeClaimTemplates[*].spec.volumeAttributesClassName", "VolumeAttributesClass"),
    ),
}


def _paths(kind: Kind) -> list[tuple[str, str]]:
    found = [
        (f"{base}.{path}", feature)
        for base in _POD_SPECS.get(kind.resource, ())
        for path, feature in _POD_SPEC_FIELDS
    ]
    return found + list(_OTHER.get(kind.resource, ()))


def _drop(data: Any, steps: list[str], here: str, dropped: list[str]) -> None:
    """Remove the field that `steps` lead to from `data`, recording each path removed."""
    if not steps or not isinstance(data, dict):
        return
    step, rest = steps[0], steps[1:]
    many = step.endswith("[*]")
    key = step[:-3] if many else step
    if key not in data:
        return
    at = f"{here}.{key}" if here else key
    if not rest:
        del data[key]
        dropped.append(at)
        return
    if many:
        items = data[key]
        if isinstance(items, list):
            for i, item in enumerate(items):
                _drop(item, rest, f"{at}[{i}]", dropped)
    else:
        _drop(data[key], rest, at, dropped)


def drop_gated(kind: Kind, data: Any) -> list[str]:
    """Remove from `data` (a request body, in place) the fields of features that are off,
    and say for each what was dropped and why."""
    warnings: list[str] = []
    for path, feature in _paths(kind):
        dropped: list[str] = []
        _drop(data, path.split("."), "", dropped)
        warnings += [
            f"{p}: dropped: the {feature} feature is off, as in Kubernetes 1.32 by default"
            for p in dropped
        ]
    return warnings

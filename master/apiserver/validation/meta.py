"""Validation of ObjectMeta, labels, annotations and label selectors, shared by every kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from client.names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_path_segment_name,
    is_qualified_name,
    is_valid_label_value,
)
from client.selectors import LabelSelector, from_proto
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.fields import json_text
from proto import meta_pb2

NameRule = Callable[[str], list[str]]

ANNOTATIONS_MAX_BYTES = 256 * 1024
"""Kubernetes' TotalAnnotationSizeLimitB."""

_NAME_RULES: dict[str, NameRule] = {
    "Namespace": is_dns1123_label,
    "Service": is_dns1035_label,
    # RBAC's names are path segments, so the system roles can be `system:...`.
    **dict.fromkeys(
        ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"), is_path_segment_name
    ),
    # Kubernetes does not care what a CSR is called, as long as the name fits in a URL.
    "CertificateSigningRequest": is_path_segment_name,
}


def name_rule(kind: str) -> NameRule:
    """How a kind's names are checked: RFC 1123 subdomains unless Kubernetes says otherwise."""
    return _NAME_RULES.get(kind, is_dns1123_subdomain)


def validate_meta(
    errs: Errors, meta: meta_pb2.ObjectMeta, *, kind: str, namespaced: bool, path: str = "metadata"
) -> None:
    """Name (or generateName), namespace, labels, annotations, owner references, finalizers."""
    rule = name_rule(kind)
    if meta.name:
        errs.invalid_each(child(path, "name"), meta.name, rule(meta.name))
    elif not meta.generate_name:
        errs.required(child(path, "name"), "name or generateName is required")
    if meta.generate_name:
        # generateName is a prefix: a trailing '-' is fine, a random suffix follows it.
        prefix = meta.generate_name
        masked = prefix[:-1] + "a" if len(prefix) > 1 and prefix.endswith("-") else prefix
        errs.invalid_each(child(path, "generateName"), prefix, rule(masked))
    if namespaced:
        errs.syntax(child(path, "namespace"), meta.namespace, is_dns1123_label)
    elif meta.namespace:
        errs.forbidden(child(path, "namespace"), "not allowed on this type")
    validate_labels(errs, meta.labels, child(path, "labels"))
    validate_annotations(errs, meta.annotations, child(path, "annotations"))
    _owner_references(errs, meta, child(path, "ownerReferences"))
    _managed_fields(errs, meta, child(path, "managedFields"))
    for i, f in enumerate(meta.finalizers):
        errs.invalid_each(index(child(path, "finalizers"), i), f, is_qualified_name(f))
    if meta.HasField("deletion_grace_period_seconds"):
        errs.non_negative(
            child(path, "deletionGracePeriodSeconds"), meta.deletion_grace_period_seconds
        )


def validate_meta_update(
    errs: Errors, new: meta_pb2.ObjectMeta, old: meta_pb2.ObjectMeta, path: str = "metadata"
) -> None:
    """Name, namespace, uid and creationTimestamp never change."""
    for field, json_name in (
        ("name", "name"),
        ("namespace", "namespace"),
        ("uid", "uid"),
        ("creation_timestamp", "creationTimestamp"),
    ):
        before, after = getattr(old, field), getattr(new, field)
        if before and after != before:
            errs.immutable(child(path, json_name), after)


def validate_labels(errs: Errors, labels: Mapping[str, str], path: str) -> None:
    """Keys are qualified names, values valid label values."""
    for k in sorted(labels):
        errs.invalid_each(path, k, is_qualified_name(k))
        errs.invalid_each(index(path, k), labels[k], is_valid_label_value(labels[k]))


def validate_annotations(errs: Errors, annotations: Mapping[str, str], path: str) -> None:
    """Keys are qualified names; all of them together at most 256 KiB."""
    total = 0
    for k in sorted(annotations):
        errs.invalid_each(path, k, is_qualified_name(k.lower()))
        total += len(k.encode()) + len(annotations[k].encode())
    if total > ANNOTATIONS_MAX_BYTES:
        errs.too_long(path, ANNOTATIONS_MAX_BYTES)


def _owner_references(errs: Errors, meta: meta_pb2.ObjectMeta, path: str) -> None:
    controllers = []
    for i, ref in enumerate(meta.owner_references):
        rpath = index(path, i)
        for field, json_name in (
            ("api_version", "apiVersion"),
            ("kind", "kind"),
            ("name", "name"),
            ("uid", "uid"),
        ):
            if not getattr(ref, field):
                errs.required(child(rpath, json_name))
        if ref.controller:
            controllers.append(f"{ref.kind}/{ref.name}")
    if len(controllers) > 1:
        errs.invalid(
            path,
            controllers,
            'Only one reference can have Controller set to true. Found "true" in references '
            f"for {' and '.join(controllers)}",
        )


def _managed_fields(errs: Errors, meta: meta_pb2.ObjectMeta, path: str) -> None:
    """Every entry's fieldsV1 is a JSON object."""
    for i, entry in enumerate(meta.managed_fields):
        if entry.fields_v1.json:
            where = child(index(path, i), "fieldsV1")
            json_text(errs, where, entry.fields_v1.json, object_only=True)


def validate_label_selector(
    errs: Errors, selector: meta_pb2.LabelSelector, path: str
) -> LabelSelector | None:
    """The parsed selector, or None after adding the errors that make it invalid."""
    before = len(errs)
    validate_labels(errs, selector.match_labels, child(path, "matchLabels"))
    for i, expr in enumerate(selector.match_expressions):
        epath = index(child(path, "matchExpressions"), i)
        errs.invalid_each(child(epath, "key"), expr.key, is_qualified_name(expr.key))
        if expr.operator in ("In", "NotIn"):
            if not expr.values:
                errs.required(
                    child(epath, "values"), "must be specified when `operator` is 'In' or 'NotIn'"
                )
        elif expr.operator in ("Exists", "DoesNotExist"):
            if expr.values:
                errs.forbidden(
                    child(epath, "values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
        else:
            errs.enum(
                child(epath, "operator"),
                expr.operator,
                ("In", "NotIn", "Exists", "DoesNotExist"),
                required=True,
            )
        for j, v in enumerate(expr.values):
            errs.invalid_each(index(child(epath, "values"), j), v, is_valid_label_value(v))
    if len(errs) > before:
        return None
    try:
        return from_proto(selector)
    except ValueError as e:  # pragma: no cover - the checks above catch what from_proto refuses
        errs.invalid(path, str(e), "invalid label selector")
        return None

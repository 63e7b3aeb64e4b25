"""CustomResourceDefinition validation, worded as apiextensions-apiserver words it.

A CRD is refused unless it can be served as it says: its name is `<plural>.<group>`, its
names are valid DNS labels, exactly one version is stored and at least one served, every
version has a structural schema (customresources/schema.py) and printer columns whose
JSONPaths this server can evaluate. Tugboat keys custom objects by their plural alone
(`/registry/<plural>/...`, as every kind), so a plural another kind already serves is
refused too, where Kubernetes (keying by group) would accept it in another group.
"""

from __future__ import annotations

import json
from typing import Any

from client import customkinds, kinds
from client.names import is_dns1035_label, is_dns1123_label, is_dns1123_subdomain
from master.apiserver.customresources.schema import structural_problems
from master.apiserver.validation import webhooks
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.fields import json_text, unique_name

SCOPES = ("Cluster", "Namespaced")
COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")
CONVERSIONS = ("None", "Webhook")
COLUMN_FORMATS = ("int32", "int64", "float", "double", "byte", "date", "date-time", "password")


def validate_crd(errs: Errors, crd: Any) -> None:
    """Every problem of a CRD (after defaults)."""
    spec, names = crd.spec, crd.spec.names
    expected = f"{names.plural}.{spec.group}"
    if crd.metadata.name and crd.metadata.name != expected:
        errs.invalid("metadata.name", crd.metadata.name, 'must be spec.names.plural+"."+spec.group')
    if not spec.group:
        errs.required("spec.group")
    else:
        errs.invalid_each("spec.group", spec.group, is_dns1123_subdomain(spec.group))
        if "." not in spec.group:
            errs.invalid("spec.group", spec.group, "should be a domain with at least one dot")
    errs.enum("spec.scope", spec.scope, SCOPES, required=True)
    _names(errs, names, "spec.names")
    _versions(errs, spec.versions, "spec.versions")
    if spec.HasField("conversion"):
        _conversion(errs, spec.conversion, "spec.conversion")
    if spec.preserve_unknown_fields:
        errs.invalid(
            "spec.preserveUnknownFields",
            True,
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in "
            "spec.versions[*].schema instead",
        )
    _conflicts(errs, crd)


def _conversion(errs: Errors, conversion: Any, path: str) -> None:
    errs.enum(child(path, "strategy"), conversion.strategy, CONVERSIONS, required=True)
    at = child(path, "webhook")
    if conversion.strategy != "Webhook":
        if conversion.HasField("webhook"):
            errs.forbidden(at, "should be empty if conversion strategy is not set to Webhook")
        return
    if not conversion.webhook.HasField("client_config"):
        errs.required(child(at, "clientConfig"), "required when strategy is set to Webhook")
        return
    webhook = conversion.webhook
    webhooks.client_config(errs, child(at, "clientConfig"), webhook.client_config)
    versions = list(webhook.conversion_review_versions)
    webhooks.review_versions(errs, child(at, "conversionReviewVersions"), versions)


def _names(errs: Errors, names: Any, path: str) -> None:
    for field, value in (("plural", names.plural), ("singular", names.singular)):
        errs.syntax(child(path, field), value, is_dns1123_label)
    for field, value in (("kind", names.kind), ("listKind", names.list_kind)):
        if not value:
            errs.required(child(path, field))
        else:
            errs.invalid_each(child(path, field), value, is_dns1035_label(value.lower()))
    if names.kind and names.kind == names.list_kind:
        errs.invalid(
            child(path, "listKind"), names.list_kind, "kind and listKind may not be the same"
        )
    for i, short in enumerate(names.short_names):
        errs.invalid_each(index(child(path, "shortNames"), i), short, is_dns1123_label(short))
    for i, category in enumerate(names.categories):
        errs.invalid_each(index(child(path, "categories"), i), category, is_dns1123_label(category))


def _versions(errs: Errors, versions: Any, path: str) -> None:
    if not versions:
        errs.invalid(path, [], "must have exactly one version marked as storage version")
        return
    names = [v.name for v in versions]
    if sum(1 for v in versions if v.storage) != 1:
        errs.invalid(path, names, "must have exactly one version marked as storage version")
    if not any(v.served for v in versions):
        errs.invalid(path, names, "must have at least one version marked as served")
    seen: set[str] = set()
    for i, v in enumerate(versions):
        here = index(path, i)
        unique_name(errs, child(here, "name"), v.name, seen, is_dns1035_label)
        _schema(errs, v, child(here, "schema"))
        _subresources(errs, v, child(here, "subresources"))
        _columns(errs, v, child(here, "additionalPrinterColumns"))
        _selectable(errs, v, child(here, "selectableFields"))


def _schema(errs: Errors, version: Any, path: str) -> None:
    where = child(path, "openAPIV3Schema")
    if not version.HasField("schema") or not version.schema.HasField("open_apiv3_schema"):
        errs.required(where, "schemas are required")
        return
    text = version.schema.open_apiv3_schema.json or "{}"
    before = len(errs)
    json_text(errs, where, text, object_only=True)
    if len(errs) == before:  # only a parsed schema can be judged further
        errs.extend(structural_problems(json.loads(text), where))


def _subresources(errs: Errors, version: Any, path: str) -> None:
    if not version.subresources.HasField("scale"):
        return
    scale, here = version.subresources.scale, child(path, "scale")
    for field, value, under in (
        ("specReplicasPath", scale.spec_replicas_path, ".spec."),
        ("statusReplicasPath", scale.status_replicas_path, ".status."),
    ):
        if not value:
            errs.required(child(here, field))
        elif not value.startswith(under) or not _simple(value):
            errs.invalid(child(here, field), value, f"should be a json path under {under[:-1]}")
    selector = scale.label_selector_path
    if scale.HasField("label_selector_path") and selector:
        if not selector.startswith((".spec.", ".status.")) or not _simple(selector):
            errs.invalid(
                child(here, "labelSelectorPath"),
                selector,
                "should be a json path under either .spec or .status",
            )


def _simple(path: str) -> bool:
    try:
        return all(step == "field" for step, _ in customkinds.parse_json_path(path))
    except ValueError:
        return False


def _columns(errs: Errors, version: Any, path: str) -> None:
    for i, column in enumerate(version.additional_printer_columns):
        here = index(path, i)
        if not column.name:
            errs.required(child(here, "name"))
        errs.enum(child(here, "type"), column.type, COLUMN_TYPES, required=True)
        if column.format and column.format not in COLUMN_FORMATS:
            errs.unsupported(child(here, "format"), column.format, COLUMN_FORMATS)
        if column.priority < 0:
            errs.invalid(
                child(here, "priority"), column.priority, "must be greater than or equal to 0"
            )
        if not column.json_path:
            errs.required(child(here, "jsonPath"))
            continue
        try:
            customkinds.parse_json_path(column.json_path)
        except ValueError as e:
            errs.invalid(child(here, "jsonPath"), column.json_path, str(e))


MAX_SELECTABLE_FIELDS = 8
SELECTABLE_TYPES = ("string", "integer", "boolean")


def _selectable(errs: Errors, version: Any, path: str) -> None:
    """Each a simple JSONPath, once, outside metadata, to a string, integer or boolean
    field of the schema (Kubernetes' rules for selectableFields)."""
    fields = list(version.selectable_fields)
    if len(fields) > MAX_SELECTABLE_FIELDS:
        errs.add(path, f"Too many: {len(fields)}: must have at most {MAX_SELECTABLE_FIELDS} items")
    schema: Any = None
    if version.HasField("schema") and version.schema.HasField("open_apiv3_schema"):
        try:
            schema = json.loads(version.schema.open_apiv3_schema.json or "{}")
        except ValueError:
            schema = None
    seen: set[str] = set()
    for i, field in enumerate(fields):
        here = child(index(path, i), "jsonPath")
        json_path = field.json_path
        if not json_path:
            errs.required(here)
            continue
        if not _simple(json_path):
            errs.invalid(here, json_path, "must be a simple json path: fields only (.spec.color)")
            continue
        if json_path in seen:
            errs.duplicate(here, json_path)
        seen.add(json_path)
        if json_path.startswith(".metadata."):
            errs.forbidden(here, "fields of metadata may not be selectable")
            continue
        if isinstance(schema, dict):
            found = _schema_at(schema, json_path)
            if found is None:
                errs.invalid(here, json_path, "is an invalid path: no such field in the schema")
            elif found.get("type") not in SELECTABLE_TYPES:
                errs.invalid(
                    here, json_path, "must point to a field of type string, boolean or integer"
                )


def _schema_at(schema: dict[str, Any], json_path: str) -> dict[str, Any] | None:
    """The schema of the field `json_path` names, None when the schema has no such field."""
    here: Any = schema
    for _, name in customkinds.parse_json_path(json_path):
        properties = here.get("properties") if isinstance(here, dict) else None
        here = properties.get(name) if isinstance(properties, dict) else None
        if here is None:
            return None
    return here if isinstance(here, dict) else None


def _conflicts(errs: Errors, crd: Any) -> None:
    """A plural (or kind in the same group) that another kind already has."""
    plural = crd.spec.names.plural
    if not plural:
        return
    try:
        other = kinds.by_resource(plural)
    except kinds.UnknownKindError:
        return
    mine = isinstance(other, customkinds.CustomKind) and other.crd_name == crd.metadata.name
    if not mine:
        owner = other.crd_name if isinstance(other, customkinds.CustomKind) else other.api_version
        errs.invalid(
            "spec.names.plural",
            plural,
            f'is already served by "{owner}": Tugboat serves one resource per plural name',
        )


def validate_crd_update(errs: Errors, new: Any, old: Any) -> None:
    """The group and scope never change (the name, hence the plural, never does)."""
    if new.spec.group != old.spec.group:
        errs.immutable("spec.group", new.spec.group)
    if new.spec.scope != old.spec.scope:
        errs.immutable("spec.scope", new.spec.scope)
    stored = set(old.status.stored_versions)
    kept = {v.name for v in new.spec.versions}
    for i, version in enumerate(old.status.stored_versions):
        if version not in kept and version in stored:
            errs.invalid(
                index("status.storedVersions", i),
                version,
                "must appear in spec.versions",
            )

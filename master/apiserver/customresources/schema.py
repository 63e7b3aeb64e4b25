"""A CRD's openAPIV3Schema at work: is it structural, does an object fit it, and what the
object becomes after pruning and defaulting.

Kubernetes (apiextensions-apiserver) requires structural schemas: every node says its
type, so the server knows exactly which fields exist. That is what makes pruning possible
(a field the schema does not name is dropped, as it would be from a built-in kind) and
defaulting (a `default` at any depth fills a missing field). Validation reports every
problem with kube-openapi's wording through apiextensions' conversion to field errors:
`spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer:
"string"` (the invalid value of a type error is the type the value had).

The schema is a plain dict (the CRD stores it as JSON): walking it directly keeps every
keyword the user wrote and lets each error name its path.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from client.codec import FieldError
from master.apiserver.validation.errors import Errors, child, index, show

__all__ = ["apply_defaults", "prune", "structural_problems", "validate"]

TYPES = ("object", "array", "string", "integer", "number", "boolean")
PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
EMBEDDED = "x-kubernetes-embedded-resource"
KEYWORDS = frozenset(
    {
        "type", "format", "title", "description", "properties", "required", "items",
        "additionalProperties", "enum", "default", "nullable", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
        "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
        "multipleOf", "allOf", "anyOf", "oneOf", "not", "example", "externalDocs",
        PRESERVE, INT_OR_STRING, EMBEDDED, "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-validations",
    }
)  # fmt: skip
"""JSONSchemaProps' fields: any other key in a schema is an unknown field."""
_ROOT_META = ("apiVersion", "kind", "metadata")


# ---- is the schema structural (checked when the CRD is written) ----


def structural_problems(schema: Any, path: str) -> list[FieldError]:
    """What makes `schema` (a version's openAPIV3Schema at `path`) not structural, worded as
    apiextensions' validation words it; empty when it is fine."""
    errs = Errors()
    if not isinstance(schema, dict):
        errs.required(path, "schemas are required")
        return list(errs)
    if schema.get("type") != "object":
        errs.invalid(child(path, "type"), schema.get("type", ""), "must be object at the root")
    _structural(errs, schema, path, root=True)
    return list(errs)


def _structural(errs: Errors, node: Any, path: str, *, root: bool = False) -> None:
    if not isinstance(node, dict):
        errs.invalid(path, node, "must be a schema object")
        return
    for key in node:
        if key not in KEYWORDS:
            errs.add(child(path, key), "Forbidden: unknown field")
    kind = node.get("type", "")
    if kind and kind not in TYPES:
        errs.unsupported(child(path, "type"), kind, TYPES)
    loose = node.get(PRESERVE) is True or node.get(INT_OR_STRING) is True
    if not kind and not loose and not root:
        errs.required(child(path, "type"), "must not be empty for specified object fields")
    props = node.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            errs.invalid(child(path, "properties"), props, "must be an object")
        else:
            if kind and kind != "object":
                errs.invalid(child(path, "type"), kind, "must be object when properties are set")
            for name, sub in props.items():
                _structural(errs, sub, f"{child(path, 'properties')}[{name}]")
    extra = node.get("additionalProperties")
    if extra is not None:
        if props is not None:
            errs.forbidden(
                child(path, "additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            )
        if isinstance(extra, dict):
            _structural(errs, extra, child(path, "additionalProperties"))
        elif extra is False:
            errs.forbidden(
                child(path, "additionalProperties"),
                "must not be false in structural schemas: unknown fields are pruned instead",
            )
    items = node.get("items")
    if kind == "array":
        if not isinstance(items, dict):
            errs.required(child(path, "items"), "must be specified")
        else:
            _structural(errs, items, child(path, "items"))
    required = node.get("required")
    if required is not None and (
        not isinstance(required, list) or not all(isinstance(r, str) for r in required)
    ):
        errs.invalid(child(path, "required"), required, "must be a list of field names")
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as e:
            errs.invalid(
                child(path, "pattern"), pattern, f"must be a valid regular expression: {e}"
            )
    if "default" in node:
        if root:
            errs.forbidden(child(path, "default"), "must not be set at the root")
        else:
            # Named as "default", the value under the very schema it defaults.
            for p in validate(node, node["default"], "default"):
                errs.add(child(path, "default"), p.detail)


# ---- validation of an object ----


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _fits(kind: str, value: Any) -> bool:
    actual = _type_of(value)
    return actual == kind or (kind == "number" and actual == "integer")


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def validate(schema: Any, value: Any, path: str) -> list[FieldError]:
    """Every problem of `value` (the object at `path`) under `schema`."""
    errs = Errors()
    if isinstance(schema, dict):
        _validate(errs, schema, value, path)
    return list(errs)


def _invalid(errs: Errors, path: str, value: Any, why: str) -> None:
    errs.invalid(path, value, f"{path} in body {why}")


def _validate(errs: Errors, s: dict[str, Any], value: Any, path: str) -> None:
    kind = s.get("type", "")
    if value is None:
        if s.get("nullable") is True or not kind:
            return
        _invalid(errs, path, "null", f'must be of type {kind}: "null"')
        return
    if s.get(INT_OR_STRING) is True:
        if _type_of(value) not in ("integer", "string"):
            actual = _type_of(value)
            _invalid(errs, path, actual, f'must be of type integer-or-string: "{actual}"')
            return
    elif kind and not _fits(kind, value):
        actual = _type_of(value)
        _invalid(errs, path, actual, f'must be of type {kind}: "{actual}"')
        return
    enum = s.get("enum")
    if isinstance(enum, list) and value not in enum:
        errs.unsupported(path, value, [show(e).strip('"') for e in enum])
    if isinstance(value, int | float) and not isinstance(value, bool):
        _bounds(errs, s, value, path)
    if isinstance(value, str):
        _strings(errs, s, value, path)
    if isinstance(value, list):
        _arrays(errs, s, value, path)
    if isinstance(value, dict):
        _objects(errs, s, value, path)


def _bounds(errs: Errors, s: dict[str, Any], value: float, path: str) -> None:
    low, high = s.get("minimum"), s.get("maximum")
    if isinstance(low, int | float):
        if s.get("exclusiveMinimum") is True and value <= low:
            _invalid(errs, path, value, f"should be greater than {_number(low)}")
        elif value < low:
            _invalid(errs, path, value, f"should be greater than or equal to {_number(low)}")
    if isinstance(high, int | float):
        if s.get("exclusiveMaximum") is True and value >= high:
            _invalid(errs, path, value, f"should be less than {_number(high)}")
        elif value > high:
            _invalid(errs, path, value, f"should be less than or equal to {_number(high)}")
    step = s.get("multipleOf")
    if isinstance(step, int | float) and step > 0 and (value / step) % 1:
        _invalid(errs, path, value, f"should be a multiple of {_number(step)}")


def _strings(errs: Errors, s: dict[str, Any], value: str, path: str) -> None:
    shortest, longest = s.get("minLength"), s.get("maxLength")
    if isinstance(shortest, int) and len(value) < shortest:
        _invalid(errs, path, value, f"should be at least {shortest} chars long")
    if isinstance(longest, int) and len(value) > longest:
        errs.add(path, f"Too long: may not be more than {longest} bytes")
    pattern = s.get("pattern")
    if isinstance(pattern, str):
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True  # refused when the CRD was written
        if not matched:
            _invalid(errs, path, value, f"should match '{pattern}'")


def _arrays(errs: Errors, s: dict[str, Any], value: list[Any], path: str) -> None:
    fewest, most = s.get("minItems"), s.get("maxItems")
    if isinstance(fewest, int) and len(value) < fewest:
        _invalid(errs, path, len(value), f"should have at least {fewest} items")
    if isinstance(most, int) and len(value) > most:
        errs.add(path, f"Too many: {len(value)}: must have at most {most} items")
    if s.get("uniqueItems") is True:
        seen: list[Any] = []
        for i, item in enumerate(value):
            if item in seen:
                errs.duplicate(index(path, i), item)
            seen.append(item)
    items = s.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _validate(errs, items, item, index(path, i))


def _objects(errs: Errors, s: dict[str, Any], value: dict[str, Any], path: str) -> None:
    for name in s.get("required") or []:
        if name not in value or (value[name] is None and not _nullable(s, name)):
            errs.required(child(path, name))
    fewest, most = s.get("minProperties"), s.get("maxProperties")
    if isinstance(fewest, int) and len(value) < fewest:
        _invalid(errs, path, len(value), f"should have at least {fewest} properties")
    if isinstance(most, int) and len(value) > most:
        _invalid(errs, path, len(value), f"should have at most {most} properties")
    props = s.get("properties")
    extra = s.get("additionalProperties")
    for name, item in value.items():
        sub = props.get(name) if isinstance(props, dict) else None
        if sub is None and isinstance(extra, dict):
            sub = extra
        if isinstance(sub, dict):
            if not path and name in _ROOT_META:
                continue  # apiVersion, kind and metadata are checked as any object's
            _validate(errs, sub, item, child(path, name))


def _nullable(s: dict[str, Any], name: str) -> bool:
    props = s.get("properties")
    sub = props.get(name) if isinstance(props, dict) else None
    return isinstance(sub, dict) and sub.get("nullable") is True


# ---- pruning and defaulting ----


def prune(schema: Any, value: Any, *, root: bool = True) -> Any:
    """`value` without the fields the schema does not specify (kept under
    x-kubernetes-preserve-unknown-fields), as apiextensions prunes: in place, returned."""
    if not isinstance(schema, dict):
        return value
    _prune(schema, value, root=root)
    return value


def _prune(s: dict[str, Any], value: Any, *, root: bool = False) -> None:
    if isinstance(value, dict):
        props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
        extra = s.get("additionalProperties")
        keep_unknown = s.get(PRESERVE) is True or s.get(EMBEDDED) is True or extra is True
        for name in list(value):
            if root and name in _ROOT_META:
                continue
            sub = props.get(name) if props else None
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is None:
                if not keep_unknown:
                    del value[name]
                continue
            _prune(sub, value[name])
    elif isinstance(value, list):
        items = s.get("items")
        if isinstance(items, dict):
            for item in value:
                _prune(items, item)


def apply_defaults(schema: Any, value: Any) -> Any:
    """`value` with every missing field that has a `default` filled (and a null one that
    may not be null), at every depth, as apiextensions defaults: in place, returned."""
    if isinstance(schema, dict):
        _default(schema, value)
    return value


def _default(s: dict[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        props = s.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                if not isinstance(sub, dict) or "default" not in sub:
                    continue
                missing = name not in value
                null = not missing and value[name] is None and sub.get("nullable") is not True
                if missing or null:
                    value[name] = copy.deepcopy(sub["default"])
        for name, item in value.items():
            sub = props.get(name) if isinstance(props, dict) else None
            if sub is None and isinstance(s.get("additionalProperties"), dict):
                sub = s["additionalProperties"]
            if isinstance(sub, dict):
                _default(sub, item)
    elif isinstance(value, list):
        items = s.get("items")
        if isinstance(items, dict):
            for item in value:
                _default(items, item)

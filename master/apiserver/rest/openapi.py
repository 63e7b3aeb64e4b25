"""`/openapi/v3`: the API's schema, generated from the protobuf definitions of the kinds.

The proto messages are the only description of the objects Tugboat keeps, so the schema is
walked from their descriptors: a field the server does not store is not in the schema,
and `kubectl explain` tells the truth. Two things in it matter to kubectl beyond explain:

- every PATCH operation carries `x-kubernetes-group-version-kind` and the
  `fieldValidation` query parameter: that is how `kubectl apply` learns it may validate
  on the server (`fieldValidation=Strict`) instead of downloading schemas to check itself;
- lists carry `x-kubernetes-patch-merge-key` from client/mergekeys.py, the table the
  server's strategic merge patch uses too.

Top-level kinds are named as Kubernetes names them (`io.k8s.api.apps.v1.Deployment`) and
carry their group-version-kind, which explain looks up; nested messages keep their proto
names. A document per group-version, as kube-apiserver splits them, each with a content
hash in its URL so that clients may cache it.

A CRD's kind has no proto of its own (its objects are CustomObject), so its schema is the
CRD's openAPIV3Schema, named as kube-apiserver names it (the group reversed:
`io.tugboat.examples.v1.Website`), with apiVersion, kind and the real ObjectMeta added.
The built-in documents are made once; a custom group-version's is made for the CRDs
served at the time of the request, so a CRD is explained the moment it is served.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from client.customkinds import CustomKind
from client.kinds import Kind
from client.mergekeys import MERGED_PRIMITIVE_LISTS, merge_key_of
from master.apiserver.rest.groups import group_version, group_versions, kinds_of
from proto import meta_pb2

_INT_OR_STRING = "tugboat.v1.IntOrString"
_RAW_JSON = "tugboat.v1.RawJSON"
_EXTRA_VALUE = "tugboat.v1.ExtraValue"
"""A message only because proto3 has no map of lists: a list of strings on the wire of JSON."""
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_INT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}


def schema_name(desc: Descriptor, kind: Kind | None = None) -> str:
    """The component name of a message: Kubernetes' for a kind, the proto name otherwise."""
    if isinstance(kind, CustomKind):
        group, version = group_version(kind)
        return ".".join([*reversed(group.split(".")), version, kind.kind])
    if kind is not None:
        group, version = group_version(kind)
        area = "core" if not group else group.split(".")[0]
        return f"io.k8s.api.{area}.{version}.{kind.kind}"
    return desc.full_name


def _field_schema(field: FieldDescriptor, ref: dict[str, str], parent: str) -> dict[str, Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        sub = field.message_type
        assert sub is not None
        if sub.GetOptions().map_entry:
            return {
                "type": "object",
                "additionalProperties": _field_schema(sub.fields_by_name["value"], ref, parent),
            }
        item: dict[str, Any] = (
            {"x-kubernetes-int-or-string": True}
            if sub.full_name == _INT_OR_STRING
            else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            if sub.full_name == _RAW_JSON
            else {"type": "array", "items": {"type": "string"}}
            if sub.full_name == _EXTRA_VALUE
            else {
                "allOf": [{"$ref": f"#/components/schemas/{ref.get(sub.full_name, sub.full_name)}"}]
            }
        )
    else:
        item = dict(_SCALARS.get(field.type, {"type": "string"}))
    if not field.is_repeated:
        return item
    array: dict[str, Any] = {"type": "array", "items": item}
    key = merge_key_of(parent, field.json_name)
    if key is not None and field.type == FieldDescriptor.TYPE_MESSAGE:
        array["x-kubernetes-patch-merge-key"] = key
        array["x-kubernetes-patch-strategy"] = "merge"
    elif field.json_name in MERGED_PRIMITIVE_LISTS:
        array["x-kubernetes-patch-strategy"] = "merge"
    return array


def _message_schema(desc: Descriptor, ref: dict[str, str], kind: Kind | None) -> dict[str, Any]:
    properties = {f.json_name: _field_schema(f, ref, desc.name) for f in desc.fields}
    schema: dict[str, Any] = {
        "type": "object",
        "description": f"{kind.kind if kind else desc.name} as Tugboat stores it.",
        "properties": properties,
    }
    if kind is not None:
        group, version = group_version(kind)
        schema["x-kubernetes-group-version-kind"] = [
            {"group": group, "version": version, "kind": kind.kind}
        ]
    return schema


def _collect(desc: Descriptor, out: dict[str, Descriptor]) -> None:
    if desc.full_name in out or desc.full_name in (_INT_OR_STRING, _RAW_JSON, _EXTRA_VALUE):
        return
    out[desc.full_name] = desc
    for f in desc.fields:
        if f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type is not None:
            sub = f.message_type
            if sub.GetOptions().map_entry:
                value = sub.fields_by_name["value"]
                if value.message_type is not None:
                    _collect(value.message_type, out)
            else:
                _collect(sub, out)


def _schemas(kinds: list[Kind]) -> dict[str, Any]:
    found: dict[str, Descriptor] = {}
    for k in kinds:
        _collect(cast(Descriptor, k.message.DESCRIPTOR), found)
    top = {k.message.DESCRIPTOR.full_name: k for k in kinds}
    ref = {name: schema_name(d, top.get(name)) for name, d in found.items()}
    return {ref[name]: _message_schema(d, ref, top.get(name)) for name, d in found.items()}


def _param(name: str, where: str = "query", kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": where, "schema": {"type": kind, "uniqueItems": True}}


def _content(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _paths(k: Kind, schema: str) -> dict[str, Any]:
    group, version = group_version(k)
    root = f"/apis/{group}/{version}" if group else f"/api/{version}"
    collection = (
        f"{root}/namespaces/{{namespace}}/{k.resource}" if k.namespaced else f"{root}/{k.resource}"
    )
    gvk = {"group": group, "version": version, "kind": k.kind}
    scope = [_param("namespace", "path")] if k.namespaced else []
    ok = {"200": {"description": "OK", "content": _content(schema)}}

    def op(action: str, verb: str, extra: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "operationId": f"{verb}{k.kind}",
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [*scope, *extra],
            "responses": ok,
        }

    writes = [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")]
    named = [_param("name", "path")]
    patch = op("patch", "patch", [*named, *writes, _param("force", kind="boolean")])
    # kubectl apply sends a strategic merge patch where the document offers one; custom
    # objects have no patch strategies, so (as in Kubernetes) theirs is not offered.
    medias = [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ]
    if not isinstance(k, CustomKind):
        medias.insert(2, "application/strategic-merge-patch+json")
    patch["requestBody"] = {"content": {media: {"schema": {"type": "object"}} for media in medias}}
    paths = {
        collection: {
            "get": op("list", "list", [_param("labelSelector"), _param("fieldSelector")]),
            "post": op("post", "create", writes),
        },
        f"{collection}/{{name}}": {
            "get": op("get", "read", named),
            "put": op("put", "replace", [*named, *writes]),
            "patch": patch,
            "delete": op("delete", "delete", named),
        },
    }
    if k.has_status:
        status_patch = dict(patch, operationId=f"patch{k.kind}Status")
        paths[f"{collection}/{{name}}/status"] = {
            "get": op("get", "read", named),
            "put": op("put", "replace", [*named, *writes]),
            "patch": status_patch,
        }
    return paths


def _doc_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _document(kinds: list[Kind], schemas: dict[str, Any]) -> str:
    paths: dict[str, Any] = {}
    for k in kinds:
        paths.update(_paths(k, schema_name(cast(Descriptor, k.message.DESCRIPTOR), k)))
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Tugboat", "version": group_version(kinds[0])[1]},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json.dumps(doc, sort_keys=True)


@functools.cache
def _built_in_documents() -> dict[str, str]:
    out: dict[str, str] = {}
    for group, version in group_versions():
        kinds = [k for k in kinds_of(group, version) if not isinstance(k, CustomKind)]
        if kinds:
            out[_doc_path(group, version)] = _document(kinds, _schemas(kinds))
    return out


def _custom_schema(kind: CustomKind) -> dict[str, Any]:
    declared = kind.version(group_version(kind)[1]).schema
    schema: dict[str, Any] = json.loads(declared) if declared else {"type": "object"}
    if not declared:
        schema["x-kubernetes-preserve-unknown-fields"] = True
    properties = schema.setdefault("properties", {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    meta = schema_name(cast(Descriptor, meta_pb2.ObjectMeta.DESCRIPTOR))
    properties["metadata"] = {"allOf": [{"$ref": f"#/components/schemas/{meta}"}]}
    group, version = group_version(kind)
    schema["x-kubernetes-group-version-kind"] = [
        {"group": group, "version": version, "kind": kind.kind}
    ]
    return schema


@functools.lru_cache(maxsize=64)
def _custom_document(kinds: tuple[CustomKind, ...]) -> str:
    found: dict[str, Descriptor] = {}
    _collect(cast(Descriptor, meta_pb2.ObjectMeta.DESCRIPTOR), found)
    ref = {name: schema_name(d) for name, d in found.items()}
    schemas = {ref[name]: _message_schema(d, ref, None) for name, d in found.items()}
    for k in kinds:
        schemas[schema_name(cast(Descriptor, k.message.DESCRIPTOR), k)] = _custom_schema(k)
    return _document(list(kinds), schemas)


def documents() -> dict[str, str]:
    """Every group-version's OpenAPI document, as JSON text, by path ("apis/apps/v1")."""
    out = dict(_built_in_documents())
    for group, version in group_versions():
        custom = tuple(k for k in kinds_of(group, version) if isinstance(k, CustomKind))
        if custom:
            out[_doc_path(group, version)] = _custom_document(custom)
    return out


def index() -> dict[str, Any]:
    """`/openapi/v3`: where each group-version's document is, with its content hash."""
    return {
        "paths": {
            path: {
                "serverRelativeURL": f"/openapi/v3/{path}?hash="
                + hashlib.sha512(text.encode()).hexdigest()[:32].upper()
            }
            for path, text in documents().items()
        }
    }

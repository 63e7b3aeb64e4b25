"""Custom objects over REST: several served versions, the scale subresource, the Table.

A CRD may serve several versions of one kind, stored in one (conversion strategy None:
the objects are the same but for apiVersion). The store, the watch cache and gRPC know
only the storage version; the REST front-end rewrites apiVersion at its edges: a body in
any served version is taken as the storage version (`to_storage_version`), and everything
written out during a request for another served version says that version (`serve_as`
sets it for the request's task; rest/encoding.py applies it), so that the one stored
object is seen as `v1` by one client and `v1beta1` by another, as in Kubernetes. With
conversion strategy Webhook the versions differ in shape: the handlers send what they
write out through `served`, and a body through `as_stored`, which ask the CRD's webhook
(customresources/conversion.py).

The scale subresource of a custom kind reads and writes the paths its CRD names
(`.spec.replicas`, `.status.replicas`, `.status.selector`), and its Table's columns are
the CRD's additionalPrinterColumns, typed as apiextensions-apiserver types them.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from client import errors
from client.codec import FieldError, from_dict, to_dict
from client.customkinds import CustomKind, cell, json_path_values
from client.kinds import Kind, Object
from master.apiserver.customresources.conversion import Converter
from master.apiserver.rest.status import HttpError
from proto.apiextensions_pb2 import CustomObject

SERVED_AS: ContextVar[str] = ContextVar("tugboat_served_as", default="")
"""The apiVersion this request's custom objects are written out as ("": as stored)."""


def is_custom(kind: Kind) -> bool:
    return isinstance(kind, CustomKind)


def serves(kind: Kind, group: str, version: str) -> bool:
    """Whether `kind` is a custom kind served at group/version."""
    return (
        isinstance(kind, CustomKind) and kind.group == group and version in kind.served_versions()
    )


def serve_as(kind: Kind, group: str, version: str) -> None:
    """Write this request's objects out as group/version (404 for a version not served)."""
    if not isinstance(kind, CustomKind):
        SERVED_AS.set("")
        return
    if version not in kind.served_versions():
        raise HttpError("NotFound", "the server could not find the requested resource")
    wanted = f"{group}/{version}"
    SERVED_AS.set("" if wanted == kind.api_version else wanted)


def output_version(obj: Object, stored: str) -> str:
    """The apiVersion `obj` is written out with in this request."""
    served = SERVED_AS.get()
    return served if served and obj.DESCRIPTOR.full_name == "tugboat.v1.CustomObject" else stored


def to_storage_version(kind: Kind, data: Any) -> Any:
    """A body in any served version of a custom kind, as its storage version."""
    if not isinstance(kind, CustomKind) or not isinstance(data, dict):
        return data
    given = data.get("apiVersion")
    if isinstance(given, str) and given != kind.api_version:
        group, _, version = given.rpartition("/")
        if group == kind.group and version in kind.served_versions():
            return {**data, "apiVersion": kind.api_version}
    return data


def converted_by_webhook(kind: Kind) -> bool:
    return isinstance(kind, CustomKind) and kind.webhook is not None


async def served(converter: Converter, kind: Kind, objects: list[Object]) -> list[Object]:
    """The objects as this request's version says: through the CRD's conversion webhook
    when it has one; otherwise as they are (strategy None: encoding rewrites apiVersion)."""
    if not isinstance(kind, CustomKind) or kind.webhook is None:
        return objects
    desired = SERVED_AS.get() or kind.api_version
    if all(o.api_version == desired for o in objects):
        return objects
    converted = await converter.convert(kind, [to_dict(o) for o in objects], desired)
    try:
        return [from_dict(CustomObject, o) for o in converted]
    except FieldError as e:
        raise converter.failed(kind, objects[0].api_version, f"converted object: {e}") from None


async def as_stored(converter: Converter, kind: Kind, data: Any) -> Any:
    """A body in another served version of a webhook-converted kind, in the storage
    version (`to_storage_version` rewrites the others' apiVersion when decoding)."""
    if not isinstance(kind, CustomKind) or kind.webhook is None or not isinstance(data, dict):
        return data
    given = data.get("apiVersion")
    if not isinstance(given, str) or given == kind.api_version:
        return data
    group, _, version = given.rpartition("/")
    if group != kind.group or version not in kind.served_versions():
        return data  # decoding refuses it, naming the apiVersion
    [stored] = await converter.convert(kind, [data], kind.api_version)
    return stored


# ---- scale ----


def scalable(kind: Kind) -> bool:
    return isinstance(kind, CustomKind) and kind.version().scale is not None


def _first(data: Any, path: str) -> Any:
    found = json_path_values(data, path) if path else []
    return found[0] if found else None


def scale_view(kind: Kind, obj: Object) -> dict[str, Any]:
    """The autoscaling/v1 Scale of a custom object, from its CRD's paths."""
    assert isinstance(kind, CustomKind)
    spec = kind.version().scale
    assert spec is not None
    data = to_dict(obj)
    meta = data.get("metadata", {})
    desired, current = (
        _first(data, spec.spec_replicas_path),
        _first(data, spec.status_replicas_path),
    )
    status: dict[str, Any] = {"replicas": current if isinstance(current, int) else 0}
    selector = _first(data, spec.label_selector_path)
    if isinstance(selector, str) and selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": desired if isinstance(desired, int) else 0},
        "status": status,
    }


def set_replicas(kind: Kind, obj: Any, replicas: int) -> None:
    """Write `replicas` at the CRD's specReplicasPath of `obj` (a CustomObject)."""
    assert isinstance(kind, CustomKind)
    spec = kind.version().scale
    assert spec is not None
    fields = [f for f in spec.spec_replicas_path.split(".") if f][1:]  # after "spec"
    content = json.loads(obj.content.json or "{}")
    node = content.setdefault("spec", {})
    if not isinstance(node, dict):
        raise errors.Invalid(f"{spec.spec_replicas_path}: the object's spec is not an object")
    for name in fields[:-1]:
        node = node.setdefault(name, {})
        if not isinstance(node, dict):
            raise errors.Invalid(f"{spec.spec_replicas_path}: not an object on the way")
    node[fields[-1]] = replicas
    obj.content.json = json.dumps(content, sort_keys=True, separators=(",", ":"))


# ---- Table ----


def column_definitions(kind: Kind) -> list[dict[str, Any]]:
    """Name, then the CRD's printer columns (wide ones at their priority)."""
    assert isinstance(kind, CustomKind)
    found = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": "Name must be unique within a namespace.",
            "priority": 0,
        }
    ]
    for c in kind.version(SERVED_AS.get().rpartition("/")[2]).columns:
        found.append(
            {
                "name": c.name,
                "type": c.type,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            }
        )
    return found


def row_cells(kind: Kind, obj: Object, at: datetime) -> list[Any]:
    """The typed cells of one object (None where a path reaches nothing)."""
    assert isinstance(kind, CustomKind)
    data = to_dict(obj)
    columns = kind.version(SERVED_AS.get().rpartition("/")[2]).columns
    return [obj.metadata.name, *(cell(c, data, at) for c in columns)]

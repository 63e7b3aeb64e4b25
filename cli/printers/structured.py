"""`-o yaml`, `-o json` and `-o name`: objects as Kubernetes-shaped documents or names."""

from __future__ import annotations

import json
from typing import Any

import yaml

from client import codec, kinds
from client.kinds import Object


def object_dict(obj: Object) -> dict[str, Any]:
    """The object's dict with apiVersion and kind always present."""
    kind = kinds.of(obj)
    data: dict[str, Any] = codec.to_dict(obj)
    out: dict[str, Any] = {"apiVersion": kind.api_version, "kind": kind.kind}
    out.update({k: v for k, v in data.items() if k not in ("apiVersion", "kind")})
    return out


def list_dict(objects: list[Object]) -> dict[str, Any]:
    """kubectl's `List` wrapper around several objects."""
    return {
        "apiVersion": "v1",
        "items": [object_dict(o) for o in objects],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


def to_yaml(data: Any) -> str:
    """YAML as kubectl prints it: block style, keys sorted."""
    return str(yaml.safe_dump(data, sort_keys=True, default_flow_style=False))


def to_json(data: Any) -> str:
    """JSON as kubectl prints it: four-space indent."""
    return json.dumps(data, indent=4, ensure_ascii=False)


def document(objects: list[Object], *, single: bool, fmt: str) -> str:
    """The yaml or json text of one object (single) or of a List."""
    data = object_dict(objects[0]) if single and len(objects) == 1 else list_dict(objects)
    return to_yaml(data) if fmt == "yaml" else to_json(data) + "\n"


def name(obj: Object) -> str:
    """`deployment.apps/web`: kubectl's `-o name`."""
    return f"{kinds.of(obj).qualified}/{obj.metadata.name}"

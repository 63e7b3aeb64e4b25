"""Field sets: which fields of an object a manager owns, as server-side apply tracks them.

A field is a path of elements in Kubernetes' FieldsV1 spelling: `f:name` for a field,
`k:{"name":"web"}` for the item of a keyed list (containers by name: the keys of
client/mergekeys.py, the same table the strategic merge uses), `v:"x"` for a value of a
list merged as a set (finalizers). Any other list is atomic, owned whole. Ownership is of
leaves and of keyed items; maps are walked into, so two managers can each own a label.

The server-owned parts (name, uid, resourceVersion, managedFields itself, status) are
never owned, as in Kubernetes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from client.mergekeys import MERGED_PRIMITIVE_LISTS, merge_key

Path = tuple[str, ...]

MISSING: Any = object()
"""What value_at finds where the path leads nowhere."""
_UNOWNED_TOP = frozenset({"apiVersion", "kind", "status"})
_UNOWNED_META = frozenset(
    {
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink",
    }
)  # fmt: skip


def fields_of(obj: Mapping[str, Any]) -> set[Path]:
    """Every owned path of an object (an applied configuration, or a stored object)."""
    out: set[Path] = set()
    for name, value in obj.items():
        if name in _UNOWNED_TOP:
            continue
        if name == "metadata" and isinstance(value, Mapping):
            for key, inner in value.items():
                if key not in _UNOWNED_META:
                    _walk(("f:metadata", f"f:{key}"), key, inner, out)
        else:
            _walk((f"f:{name}",), name, value, out)
    return out


def _walk(path: Path, name: str, value: Any, out: set[Path]) -> None:
    if isinstance(value, Mapping) and value:
        for key, inner in value.items():
            _walk((*path, f"f:{key}"), key, inner, out)
    elif isinstance(value, list) and value:
        key = merge_key(name, value)
        if key is not None and all(isinstance(i, Mapping) and key in i for i in value):
            for item in value:
                at = (*path, item_key(key, item[key]))
                out.add(at)
                for field, inner in item.items():
                    _walk((*at, f"f:{field}"), field, inner, out)
        elif name in MERGED_PRIMITIVE_LISTS:
            out.update((*path, f"v:{json.dumps(v)}") for v in value)
        else:
            out.add(path)
    else:
        out.add(path)


def item_key(key: str, value: Any) -> str:
    return f"k:{json.dumps({key: value}, separators=(',', ':'))}"


def is_item(element: str) -> bool:
    return element.startswith(("k:", "v:"))


def value_at(obj: Any, path: Path) -> Any:
    """The value at `path`, or MISSING."""
    here = obj
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f" and isinstance(here, Mapping) and rest in here:
            here = here[rest]
        elif kind == "k" and isinstance(here, list):
            wanted = json.loads(rest)
            here = next((i for i in here if _matches(i, wanted)), MISSING)
        elif kind == "v" and isinstance(here, list):
            value = json.loads(rest)
            here = value if value in here else MISSING
        else:
            return MISSING
        if here is MISSING:
            return MISSING
    return here


def _matches(item: Any, wanted: Mapping[str, Any]) -> bool:
    return isinstance(item, Mapping) and all(item.get(k) == v for k, v in wanted.items())


def remove_at(obj: Any, path: Path) -> None:
    """Remove what `path` names from `obj`, if it is there."""
    parent = value_at(obj, path[:-1]) if len(path) > 1 else obj
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        wanted = json.loads(rest)
        parent[:] = [i for i in parent if not _matches(i, wanted)]
    elif kind == "v" and isinstance(parent, list):
        value = json.loads(rest)
        parent[:] = [i for i in parent if i != value]


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 tree of a set of paths: leaves are `{}`, an owned item has `.`."""
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        if is_item(path[-1]) and path[-1].startswith("k:"):
            node["."] = {}
    return tree


def from_fields_v1(tree: Mapping[str, Any], prefix: Path = ()) -> set[Path]:
    """The set of paths of a FieldsV1 tree."""
    out: set[Path] = set()
    for element, child in tree.items():
        if element == ".":
            out.add(prefix)
        elif isinstance(child, Mapping) and child:
            out |= from_fields_v1(child, (*prefix, element))
        else:
            out.add((*prefix, element))
    return out


def dotted(path: Path) -> str:
    """A path as kubectl prints a conflict: `.spec.replicas`, `.spec.containers[name="web"]`."""
    text = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            text += f".{rest}"
        elif kind == "k":
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items())
            text += "]"
        else:
            text += f"[={rest}]"
    return text

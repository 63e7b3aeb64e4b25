"""The three patch formats of Kubernetes' PATCH verb, on Kubernetes-shaped dicts.

- JSON merge patch (RFC 7386): maps merge, `null` deletes, every list is replaced;
- JSON patch (RFC 6902): a list of add/remove/replace/move/copy/test operations;
- strategic merge patch: a merge patch that knows which lists are keyed (client/mergekeys.py,
  the table `tug apply` and the OpenAPI schema read too) and Kubernetes' directives:
  `$patch` (delete, replace, merge), `$setElementOrder/<list>`, `$retainKeys` and
  `$deleteFromPrimitiveList/<list>`. kubectl sends it for apply, set image, rollout
  restart, cordon, label and edit.

Each takes the object as stored and returns the patched copy; the caller decodes it as the
kind (so a patch that breaks the shape fails with the field's path) and writes it with the
stored resourceVersion, as a guarded update.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from client.mergekeys import MERGED_PRIMITIVE_LISTS, merge_key

__all__ = ["PatchError", "json_merge_patch", "json_patch", "strategic_merge_patch"]


class PatchError(ValueError):
    """A patch that cannot be applied: its message says where and why."""


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: the patch's maps merge into the target's; null removes; others replace."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


# RFC 6902 -------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'path "{path}": a JSON pointer starts with "/"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, path: str, *, adding: bool = False) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit():
        raise PatchError(f'path "{path}": "{token}" is not an array index')
    i = int(token)
    if i > len(container) or (i == len(container) and not adding):
        raise PatchError(f'path "{path}": index {i} is out of range')
    return i


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, list):
            node = node[_index(node, token, path)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise PatchError(f'path "{path}": "{token}" does not exist')
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, list):
        return parent[_index(parent, last, path)]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    raise PatchError(f'path "{path}" does not exist')


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, path))
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    raise PatchError(f'path "{path}" does not exist')


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return copy.deepcopy(value)
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, list):
        parent.insert(_index(parent, last, path, adding=True), copy.deepcopy(value))
    elif isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    else:
        raise PatchError(f'path "{path}": the parent is not an object or array')
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: apply each operation in turn; PatchError names the failing one."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(target)
    for n, op in enumerate(operations):
        if not isinstance(op, Mapping) or "op" not in op or "path" not in op:
            raise PatchError(f"operation {n}: needs op and path")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f'operation {n} ({kind} "{path}"): needs a value')
        if kind == "add":
            doc = _add(doc, path, op["value"])
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            if _pointer(path):
                _remove(doc, path)
            doc = _add(doc, path, op["value"])
        elif kind in ("move", "copy"):
            if "from" not in op:
                raise PatchError(f'operation {n} ({kind} "{path}"): needs from')
            value = _remove(doc, op["from"]) if kind == "move" else _get(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f'operation {n}: test of "{path}" failed')
        else:
            raise PatchError(f'operation {n}: unknown op "{kind}"')
    return doc


# Strategic merge patch -------------------------------------------------------------------

_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes' strategic merge patch of one object (see the module docstring)."""
    if not isinstance(patch, Mapping):
        raise PatchError("a strategic merge patch is a JSON object")
    return _merge_map(target if isinstance(target, Mapping) else {}, patch, "")


def _merge_map(target: Mapping[str, Any], patch: Mapping[str, Any], path: str) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive not in (None, "merge"):
        raise PatchError(f'{path or "the object"}: unknown $patch "{directive}"')
    result = {k: copy.deepcopy(v) for k, v in target.items()}
    retain = patch.get("$retainKeys")
    if retain is not None:
        if not isinstance(retain, list):
            raise PatchError(f"{path}.$retainKeys: must be a list")
        result = {k: v for k, v in result.items() if k in retain}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith(_ORDER):
            continue
        here = f"{path}.{key}" if path else key
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping):
            old = result.get(key)
            merged = _merge_map(old if isinstance(old, Mapping) else {}, value, here)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value, here)
        else:
            result[key] = copy.deepcopy(value)
    for key, order in patch.items():
        if key.startswith(_ORDER):
            field = key[len(_ORDER) :]
            if isinstance(result.get(field), list) and isinstance(order, list):
                result[field] = _ordered(field, result[field], order)
    return result


def _merge_list(field: str, current: Any, patch: list[Any], path: str) -> list[Any]:
    live = current if isinstance(current, list) else []
    if field in MERGED_PRIMITIVE_LISTS:
        return list(live) + [v for v in patch if v not in live]
    key = merge_key(field, [*patch, *live])
    if key is None or not all(isinstance(i, Mapping) for i in patch):
        if any(isinstance(i, Mapping) and i.get("$patch") == "replace" for i in patch):
            return [
                copy.deepcopy(i) for i in patch if not isinstance(i, Mapping) or "$patch" not in i
            ]
        return copy.deepcopy(patch)
    if any(i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if "$patch" not in i]
    result = [copy.deepcopy(i) for i in live if isinstance(i, Mapping)]
    for n, item in enumerate(patch):
        if key not in item:
            raise PatchError(f'{path}[{n}]: the item has no merge key "{key}"')
        at = next((i for i, old in enumerate(result) if old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                result.pop(at)
            continue
        if at is None:
            result.append({k: copy.deepcopy(v) for k, v in item.items() if k != "$patch"})
        else:
            merged = _merge_map(result[at], item, f"{path}[{key}={item[key]}]")
            if merged is not None:
                result[at] = merged
    return result


def _ordered(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    """Items in the order `$setElementOrder` gives; any others after them, as they were."""
    key = merge_key(field, items)
    if key is None:
        return items

    def wanted(i: Any) -> Any:
        return i.get(key) if isinstance(i, Mapping) else i

    rank = {wanted(o): n for n, o in enumerate(order)}
    return sorted(items, key=lambda i: rank.get(wanted(i), len(rank)))

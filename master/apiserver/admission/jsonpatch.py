"""JSON Patch (RFC 6902), the form in which a mutating webhook answers with its changes.

Kubernetes applies a webhook's `JSONPatch` to the object's JSON and decodes the result
again; a patch that cannot apply fails the request, naming the operation. The six
operations and JSON Pointer (RFC 6901, with `~0`/`~1` escapes and `-` for the end of an
array) are small enough to own here rather than pull a library into the API server.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["PatchError", "apply_patch"]


class PatchError(ValueError):
    """A patch that does not apply: why, naming the operation."""


def _tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise PatchError(f"path must be a string, not {pointer!r}")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f'path "{pointer}" must start with "/"')
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(container: list[Any], token: str, *, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f'"{token}" is not an array index')
    i = int(token)
    if i > len(container) or (i == len(container) and not adding):
        raise PatchError(f"array index {i} is out of range")
    return i


def _parent(doc: Any, tokens: list[str]) -> Any:
    """The container holding the value that `tokens` names."""
    here = doc
    for token in tokens[:-1]:
        if isinstance(here, dict):
            if token not in here:
                raise PatchError(f'"{token}" does not exist')
            here = here[token]
        elif isinstance(here, list):
            here = here[_index(here, token, adding=False)]
        else:
            raise PatchError(f'"{token}" is inside a value that is not an object or array')
    return here


def _existing(doc: Any, tokens: list[str]) -> tuple[Any, Any]:
    """The container of the value `tokens` name, and its key or index there; the value
    must exist."""
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f'"{last}" does not exist')
        return parent, last
    if isinstance(parent, list):
        return parent, _index(parent, last, adding=False)
    raise PatchError(f'"{last}" is inside a value that is not an object or array')


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent, key = _existing(doc, tokens)
    return parent[key]


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, adding=True), value)
    else:
        raise PatchError(f'"{last}" is inside a value that is not an object or array')
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise PatchError("the whole document cannot be removed")
    parent, key = _existing(doc, tokens)
    del parent[key]
    return doc


def _apply_one(doc: Any, op: Any) -> Any:
    if not isinstance(op, dict):
        raise PatchError(f"an operation must be an object, not {op!r}")
    name = op.get("op")
    path = _tokens(op.get("path"))
    if name in ("add", "replace", "test") and "value" not in op:
        raise PatchError('"value" is required')
    if name == "add":
        return _add(doc, path, copy.deepcopy(op["value"]))
    if name == "remove":
        return _remove(doc, path)
    if name == "replace":
        _get(doc, path)  # the target must exist
        return _add(_remove(doc, path), path, copy.deepcopy(op["value"])) if path else op["value"]
    if name in ("move", "copy"):
        source = _tokens(op.get("from"))
        value = _get(doc, source)
        if name == "move":
            if path[: len(source)] == source and path != source:
                raise PatchError("a value cannot be moved into itself")
            doc = _remove(doc, source)
        return _add(doc, path, copy.deepcopy(value))
    if name == "test":
        if _get(doc, path) != op["value"]:
            raise PatchError(f'test failed at "{op.get("path")}"')
        return doc
    raise PatchError(f'unknown operation "{name}"')


def apply_patch(doc: Any, patch: Any) -> Any:
    """`doc` with `patch` applied (a new value; `doc` is left as it was)."""
    if not isinstance(patch, list):
        raise PatchError("a JSON patch must be an array of operations")
    result = copy.deepcopy(doc)
    for i, op in enumerate(patch):
        try:
            result = _apply_one(result, op)
        except PatchError as e:
            raise PatchError(
                f"operation {i} ({op.get('op') if isinstance(op, dict) else op}): {e}"
            ) from None
    return result

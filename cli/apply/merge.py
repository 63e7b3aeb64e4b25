"""The three-way merge of client-side apply, on Kubernetes-shaped dicts.

Three inputs: the live object, the manifest as last applied (from the
`kubectl.kubernetes.io/last-applied-configuration` annotation) and the new manifest.
The rules, as kubectl's client-side apply has them:

- a field in the new manifest is set to the manifest's value;
- a field in the last-applied manifest but not in the new one is removed: the user
  deleted it from the file, so it goes (removing a label removes it);
- any other field stays as it is live: status, server defaults, fields set by others.

Lists of objects with a merge key (client/mergekeys.py: containers by `name`, volume
mounts by `mountPath`, ...) are merged item by item, as strategic merge patch does, so
that server defaults inside a container survive; other lists are replaced whole.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from client.mergekeys import merge_key

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
)


def _keyed(items: object, key: str) -> dict[Any, Any] | None:
    if not isinstance(items, list):
        return None
    out: dict[Any, Any] = {}
    for item in items:
        if not isinstance(item, Mapping) or key not in item or item[key] in out:
            return None
        out[item[key]] = item
    return out


def _merge_list(field: str, live: list[Any], last: object, new: list[Any]) -> list[Any]:
    key = merge_key(field, new)
    live_by = _keyed(live, key) if key else None
    new_by = _keyed(new, key) if key else None
    if key is None or live_by is None or new_by is None:
        return copy.deepcopy(new)
    last_by = _keyed(last, key) or {}
    merged = [
        merge_map(live_by[k], last_by.get(k, {}), item) if k in live_by else copy.deepcopy(item)
        for k, item in new_by.items()
    ]
    # Items someone else added stay; items dropped from the manifest go.
    merged.extend(
        copy.deepcopy(i) for k, i in live_by.items() if k not in new_by and k not in last_by
    )
    return merged


def _merge_value(field: str, live: object, last: object, new: object) -> object:
    if isinstance(new, Mapping) and isinstance(live, Mapping):
        return merge_map(live, last if isinstance(last, Mapping) else {}, new)
    if isinstance(new, list) and isinstance(live, list):
        return _merge_list(field, live, last, new)
    return copy.deepcopy(new)


def merge_map(
    live: Mapping[str, Any], last: Mapping[str, Any], new: Mapping[str, Any]
) -> dict[str, Any]:
    """The three-way merge of one object (see the module docstring)."""
    result = {k: copy.deepcopy(v) for k, v in live.items()}
    for k in last:
        if k not in new:
            result.pop(k, None)
    for k, v in new.items():
        result[k] = _merge_value(k, live[k], last.get(k), v) if k in live else copy.deepcopy(v)
    return result


def applied_config(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest as apply declares it: without status, server-set metadata and the
    last-applied annotation itself (so `tug get -o yaml` output applies cleanly)."""
    out = copy.deepcopy(dict(manifest))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for field in _SERVER_METADATA:
            meta.pop(field, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
            if not annotations:
                meta.pop("annotations")
    return out


def annotation_value(applied: Mapping[str, Any]) -> str:
    """The annotation's text: compact JSON with sorted keys, as kubectl writes it."""
    return json.dumps(applied, sort_keys=True, separators=(",", ":")) + "\n"


def last_applied(live: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest recorded on a live object; {} when there is none or it is unreadable."""
    text = live.get("metadata", {}).get("annotations", {}).get(LAST_APPLIED, "")
    if not text:
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def with_annotation(obj: Mapping[str, Any], applied: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of obj carrying `applied` in the last-applied annotation."""
    out = copy.deepcopy(dict(obj))
    meta = out.setdefault("metadata", {})
    meta.setdefault("annotations", {})[LAST_APPLIED] = annotation_value(applied)
    return out


def three_way(live: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The object apply writes: `live` merged with `manifest`, remembering the manifest."""
    applied = applied_config(manifest)
    # The annotation is part of what is declared, as in kubectl: so dropping every
    # annotation from the file never drops the annotations others set.
    return merge_map(live, last_applied(live), with_annotation(applied, applied))

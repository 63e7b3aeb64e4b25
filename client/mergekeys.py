"""How lists merge: Kubernetes' patch merge keys, the one table for every merger.

A list of objects with a merge key (containers by `name`, volume mounts by `mountPath`)
merges item by item; any other list is replaced whole, as in Kubernetes, where the keys
are struct tags of the API types (`patchMergeKey`). `tug apply`'s three-way merge, the
API server's strategic merge patch and the OpenAPI schema (`x-kubernetes-patch-merge-key`)
all read this table, so they cannot disagree about what a list's items are keyed by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "addresses": "type",
    "ownerReferences": "uid",
}
"""field name -> the key of its items (the field name is unique enough in the API's
shapes; `ports` is the one field whose key depends on where it is, see merge_key)."""

MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})
"""Lists of strings that merge as sets (`patchStrategy:"merge"`), not replaced."""


def merge_key(field: str, items: Sequence[Any] = ()) -> str | None:
    """The merge key of the list `field`, judged from its items where the name is shared."""
    if field == "ports":
        # A container's ports are keyed by containerPort, a Service's by port.
        mapped = [i for i in items if isinstance(i, Mapping)]
        return "containerPort" if any("containerPort" in i for i in mapped) else "port"
    return MERGE_KEYS.get(field)


def merge_key_of(parent_message: str, field: str) -> str | None:
    """The merge key of `field` in the message named `parent_message` (for schemas)."""
    if field == "ports":
        return "containerPort" if parent_message.endswith("Container") else "port"
    return MERGE_KEYS.get(field)

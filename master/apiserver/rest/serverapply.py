"""Server-side apply and the managedFields every HTTP write keeps up to date.

Each manager's entry in `metadata.managedFields` holds the set of fields it owns
(master/apiserver/rest/fieldsets.py), split as Kubernetes splits it: one `Apply` entry per
applier, one `Update` entry per manager and subresource for every other write.

- **Apply** (`application/apply-patch+yaml` with `fieldManager`): a field the
  configuration sets that another manager owns with a different value is a conflict,
  answered 409 with every such field named, unless `force=true`, which takes the field
  over. Fields the manager applied before and leaves out now are removed from the object
  when nobody else owns them. The rest merges like a strategic merge patch.
- **Update** (create, update, patch, scale): the writer comes to own every field it
  changed, and the other managers lose those fields.

How far it goes: ownership is tracked for writes through the HTTP API (the one kubectl and
the official client use); the components' gRPC writes keep the entries they read but add
none. Conflicts compare values, not types (a string "1" and a number 1 differ), and
`status` is never owned.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from client.timestamps import now
from master.apiserver.patching import strategic_merge_patch
from master.apiserver.rest.fieldsets import (
    Path,
    dotted,
    fields_of,
    from_fields_v1,
    is_item,
    remove_at,
    to_fields_v1,
    value_at,
)
from master.apiserver.rest.status import HttpError


@dataclass
class Entry:
    """One manager's claim on an object's fields."""

    manager: str
    operation: str
    api_version: str
    subresource: str = ""
    time: str = ""
    fields: set[Path] = field(default_factory=set)

    def is_(self, manager: str, operation: str, subresource: str = "") -> bool:
        return (self.manager, self.operation, self.subresource) == (
            manager,
            operation,
            subresource,
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def entries_of(obj: Mapping[str, Any] | None) -> list[Entry]:
    if not obj:
        return []
    found = (obj.get("metadata") or {}).get("managedFields") or []
    return [
        Entry(
            manager=e.get("manager", ""),
            operation=e.get("operation", ""),
            api_version=e.get("apiVersion", ""),
            subresource=e.get("subresource", ""),
            time=e.get("time", ""),
            fields=from_fields_v1(e.get("fieldsV1") or {}),
        )
        for e in found
        if isinstance(e, Mapping)
    ]


def _store(obj: dict[str, Any], entries: list[Entry]) -> None:
    kept = [e.as_dict() for e in entries if e.fields]
    meta = obj.setdefault("metadata", {})
    if kept:
        meta["managedFields"] = kept
    else:
        meta.pop("managedFields", None)


def _owner(entry: Entry) -> str:
    text = f'"{entry.manager}"'
    if entry.subresource:
        text += f' with subresource "{entry.subresource}"'
    return text


def apply(
    live: Mapping[str, Any] | None,
    applied: Mapping[str, Any],
    *,
    manager: str,
    force: bool,
    api_version: str,
) -> dict[str, Any]:
    """The object to store when `manager` applies `applied` over `live` (None: create)."""
    if not manager:
        raise HttpError("BadRequest", "fieldManager is required for apply requests")
    wanted = fields_of(applied)
    if live is None:
        result = copy.deepcopy(dict(applied))
        _store(result, [Entry(manager, "Apply", api_version, time=now(), fields=wanted)])
        return result
    entries = entries_of(live)
    mine = next((e for e in entries if e.is_(manager, "Apply")), None)
    conflicts = [
        (entry, path)
        for entry in entries
        if entry.manager != manager
        for path in sorted(wanted & entry.fields)
        if not is_item(path[-1]) and value_at(applied, path) != value_at(live, path)
    ]
    if conflicts and not force:
        listed = "\n".join(f"conflict with {_owner(e)} using {e.api_version}: {dotted(p)}"
                           for e, p in conflicts)  # fmt: skip
        raise HttpError("Conflict", f"Apply failed with {len(conflicts)} conflict(s): {listed}")
    for entry, path in conflicts:
        entry.fields.discard(path)
    others: set[Path] = set().union(*(e.fields for e in entries if e is not mine))
    base = copy.deepcopy(dict(live))
    dropped = (mine.fields if mine else set()) - wanted - others
    for path in sorted(dropped, key=len):  # an item first: its own fields go with it
        remove_at(base, path)
    merged: dict[str, Any] = strategic_merge_patch(base, dict(applied))
    if mine is None:
        mine = Entry(manager, "Apply", api_version)
        entries.append(mine)
    if mine.fields != wanted:
        mine.fields, mine.time = wanted, now()
    mine.api_version = api_version
    _store(merged, entries)
    return merged


def record_update(
    old: Mapping[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    subresource: str = "",
) -> None:
    """Give `manager` the fields it changed from `old` to `new`, in `new`'s managedFields
    (those `new` carries, else `old`'s, as Kubernetes keeps them when an update omits
    them)."""
    if not manager:
        return
    carried = "managedFields" in (new.get("metadata") or {})
    entries = entries_of(new if carried else old)
    now_fields = fields_of(new)
    if old is None:
        changed = now_fields
        gone: set[Path] = set()
    else:
        changed = {p for p in now_fields if value_at(old, p) != value_at(new, p)}
        gone = fields_of(old) - now_fields
    mine = next((e for e in entries if e.is_(manager, "Update", subresource)), None)
    for entry in entries:
        entry.fields -= gone
        if entry is not mine:
            entry.fields -= changed
    if changed:
        if mine is None:
            mine = Entry(manager, "Update", api_version, subresource)
            entries.append(mine)
        mine.fields |= changed
        mine.time = now()
    _store(new, entries)


def manager_of(query: Mapping[str, str], user_agent: str) -> str:
    """The fieldManager of a request: the query's, else the client's name from its
    User-Agent (`kubectl/v1.32.4 (linux/amd64)` -> `kubectl`), as Kubernetes picks it."""
    given = query.get("fieldManager", "")
    if given:
        if len(given) > 128:
            raise HttpError("BadRequest", "fieldManager: Too long: may not be more than 128")
        return given
    return user_agent.split("/", 1)[0].strip()[:128]

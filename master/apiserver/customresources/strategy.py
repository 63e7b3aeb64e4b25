"""The rules of a custom kind: its CRD's schema, applied as apiextensions-apiserver does.

Every custom object is a CustomObject message, so the store's generic phases (registry.py,
deletion.py) handle it as any kind; what differs is here, in the order Kubernetes applies
it: on every write the object is pruned to its schema's fields (unknown fields dropped at
every depth unless x-kubernetes-preserve-unknown-fields), then defaulted from the schema,
then validated against it, each error naming its field. With the status subresource the
status is the status writer's (dropped on create, kept on update, as for built-in kinds);
without it, status is an ordinary field and travels in the content.
"""

from __future__ import annotations

import json
from typing import Any

from client.customkinds import CustomKind
from master.apiserver.customresources import schema as schemas
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation.errors import Errors


def _content(obj: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(obj.content.json or "{}")
    return found


def _set_content(obj: Any, content: dict[str, Any]) -> None:
    obj.content.json = json.dumps(content, sort_keys=True, separators=(",", ":"))


def _status(obj: Any) -> dict[str, Any] | None:
    if not obj.HasField("status"):
        return None
    found: dict[str, Any] = json.loads(obj.status.json or "{}")
    return found


def _set_status(obj: Any, status: dict[str, Any] | None) -> None:
    if status is None:
        obj.ClearField("status")
    else:
        obj.status.json = json.dumps(status, sort_keys=True, separators=(",", ":"))


class CustomObjectStrategy(Strategy):
    """Prune, default and validate by the schema of the kind's storage version."""

    kind: CustomKind

    def __init__(self, kind: CustomKind) -> None:
        super().__init__(kind)
        self.schema: Any = json.loads(kind.version().schema or "null")

    def prepare_for_create(self, obj: Any) -> None:
        if self.kind.has_status:
            obj.ClearField("status")

    def canonicalize(self, obj: Any) -> None:
        content = _content(obj)
        status = _status(obj)
        if not self.kind.has_status and status is not None:
            # No status subresource: status is a field like any other.
            content["status"] = status
            status = None
        whole = {**content, **({"status": status} if status is not None else {})}
        schemas.prune(self.schema, whole)
        status = whole.pop("status", None) if self.kind.has_status else None
        if status is not None and not isinstance(status, dict):
            status = None
        _set_content(obj, whole)
        _set_status(obj, status)

    def default(self, obj: Any) -> None:
        content = _content(obj)
        status = _status(obj)
        whole = {**content, **({"status": status} if status is not None else {})}
        schemas.apply_defaults(self.schema, whole)
        if self.kind.has_status:
            status = whole.pop("status", None)
            _set_status(obj, status if isinstance(status, dict) else None)
        _set_content(obj, whole)

    def validate(self, errs: Errors, obj: Any) -> None:
        if self.schema is None:
            return
        whole = _content(obj)
        status = _status(obj)
        if status is not None:
            whole["status"] = status
        errs.extend(schemas.validate(self.schema, whole, ""))


def custom_strategy(kind: CustomKind) -> CustomObjectStrategy:
    """The strategy of a custom kind (made per request: the CRD may have changed)."""
    return CustomObjectStrategy(kind)

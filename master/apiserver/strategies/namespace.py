"""Namespaces: Active when created; deleted only once empty, Terminating until then.

Deleting a namespace that still holds objects marks it Terminating; the namespace
controller then empties it and deletes it again. The deletion that removes it is guarded
in its own transaction by "no key under any of its collections", so an object created
meanwhile keeps it alive. The system namespaces may never be deleted.
"""

from __future__ import annotations

from typing import Any

from client import errors
from client.kinds import KINDS, by_resource
from master.apiserver.admission import podsecurity
from master.apiserver.etcd import compare_version, prefix_end
from master.apiserver.objects import collection_prefix
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation.errors import Errors

PERMANENT_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Made by the API server itself: they keep Pod Security's `privileged` (no label)."""


class NamespaceStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        if not obj.status.phase:
            obj.status.phase = "Active"
        labels = obj.metadata.labels
        if obj.metadata.name not in SYSTEM_NAMESPACES and podsecurity.ENFORCE not in labels:
            labels[podsecurity.ENFORCE] = podsecurity.DEFAULT_FOR_NEW_NAMESPACES

    def validate(self, errs: Errors, obj: Any) -> None:
        level = obj.metadata.labels.get(podsecurity.ENFORCE)
        if level is not None and level not in podsecurity.LEVELS:
            errs.unsupported(f"metadata.labels[{podsecurity.ENFORCE}]", level, podsecurity.LEVELS)

    def default(self, obj: Any) -> None:
        obj.status.phase = obj.status.phase or "Active"

    def check_delete(self, name: str) -> None:
        if name in PERMANENT_NAMESPACES:
            raise errors.Forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted'
            )

    def mark_deleted(self, obj: Any, grace_period_seconds: int | None, policy: str) -> bool:
        gone = super().mark_deleted(obj, grace_period_seconds, policy)
        obj.status.phase = "Terminating"
        return gone

    def delete_compares(self, name: str) -> list[Any]:
        compares = []
        for kind in KINDS:
            if kind.namespaced:
                prefix = collection_prefix(kind, name)
                # Over a range, version == 0 holds only when the range has no key at all.
                compares.append(compare_version(prefix, "==", 0, prefix_end(prefix)))
        return compares

    def finished(self, obj: Any) -> bool:
        # Only the namespace controller's delete of an empty namespace removes it.
        return False


STRATEGY = NamespaceStrategy(by_resource("namespaces"))

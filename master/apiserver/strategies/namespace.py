"""Namespaces: Active when created; deleted only once empty, Terminating until then.

Deleting a namespace that still holds objects marks it Terminating; the namespace
controller then empties it and deletes it again. The deletion that removes it is guarded
in its own transaction by "no key under any of its collections", so an object created
meanwhile keeps it alive. The system namespaces may never be deleted.
"""

from __future__ import annotations

import uuid
from typing import Any

from client import errors
from client.kinds import KINDS, by_resource, dynamic_kinds
from master.apiserver.admission import podsecurity
from master.apiserver.allocators import Claim
from master.apiserver.etcd import compare_version, op_delete, op_put, prefix_end
from master.apiserver.objects import collection_prefix, encode_for_store, object_key
from master.apiserver.strategies.base import Strategy
from master.apiserver.strategies.serviceaccount import default_service_account
from master.apiserver.validation.errors import Errors

PERMANENT_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
SERVICE_ACCOUNTS = by_resource("serviceaccounts")


SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Made by the API server itself: they keep Pod Security's `privileged` (no label)."""


class NamespaceStrategy(Strategy):
    async def claim(self, allocator: Any, new: Any, old: Any | None) -> Claim:
        """A new namespace comes with its `default` ServiceAccount, in the same transaction
        (Kubernetes' serviceaccount controller makes it a moment later; here no pod can be
        created in the namespace before it exists)."""
        if old is not None:
            return Claim()
        name = new.metadata.name
        sa: Any = default_service_account(name, str(uuid.uuid4()), new.metadata.creation_timestamp)
        key = object_key(SERVICE_ACCOUNTS, name, "default")
        return Claim(ops=[op_put(key, encode_for_store(sa))])

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
        default = object_key(SERVICE_ACCOUNTS, name, "default")
        # Custom objects (CRDs' kinds) keep a namespace alive too.
        for kind in (*KINDS, *dynamic_kinds()):
            if not kind.namespaced:
                continue
            prefix = collection_prefix(kind, name)
            # Over a range, version == 0 holds only when the range has no key at all.
            if kind is SERVICE_ACCOUNTS:
                # Its own `default` ServiceAccount does not keep a namespace alive: it
                # goes in the same transaction (release_ops).
                compares.append(compare_version(prefix, "==", 0, default))
                compares.append(compare_version(default + b"\0", "==", 0, prefix_end(prefix)))
            else:
                compares.append(compare_version(prefix, "==", 0, prefix_end(prefix)))
        return compares

    def release_ops(self, old: Any) -> list[Any]:
        return [op_delete(object_key(SERVICE_ACCOUNTS, old.metadata.name, "default"))]

    def finished(self, obj: Any) -> bool:
        # Only the namespace controller's delete of an empty namespace removes it.
        return False


STRATEGY = NamespaceStrategy(by_resource("namespaces"))

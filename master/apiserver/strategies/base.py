"""What the generic store asks of a kind: one Strategy per kind, with the generic answers.

Kubernetes keeps a kind's rules in `registry/<kind>/strategy.go`, so the generic store
holds none. Tugboat does the same: registry.py and deletion.py read as their phases alone
(decode → read → merge → strategy → guarded transaction) and every question they have
about a kind is a method here. A kind's module under strategies/ subclasses Strategy and
overrides only what differs for it; the methods' docstrings say when the store calls them.

Strategies hold no state of their own and never touch etcd: what they decide becomes part
of the store's one guarded transaction (extra compares and operations), so a decision
made on a stale read can never land.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from client import errors
from client.codec import FieldError
from client.kinds import Kind
from client.timestamps import now
from master.apiserver.allocators import Claim, ServiceAllocator
from master.apiserver.auth.authorizer import Authorizer
from master.apiserver.validation.errors import Errors
from master.apiserver.validation.meta import validate_meta, validate_meta_update

__all__ = ["Strategy", "apply_policy"]

_POLICY_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}


class Strategy:
    """The rules of one kind. The base class is what a kind with no special rules gets."""

    subresources: Mapping[str, Callable[[Any, Any], None]] = {}
    """Update's subresources beyond status, by name: each copies into the stored object
    (its first argument, a copy) the part of the incoming one (the second) it owns."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    # ---- create and update: what the server owns, defaults, validation ----

    def prepare_for_create(self, obj: Any) -> None:
        """On create, before defaults: set what the server owns (a status' first value)."""

    def canonicalize(self, obj: Any) -> None:
        """On create and update, before defaults: turn the client's spelling into the
        stored one (a Secret's stringData into data)."""

    def default(self, obj: Any) -> None:
        """Fill the kind's unset fields as Kubernetes' defaulting does (idempotent)."""

    def prepare_for_update(self, new: Any, old: Any) -> None:
        """On Update (not UpdateStatus): keep what the client may leave out but the
        server gave the object (an allocated clusterIP, nodePorts)."""

    def prepare_for_status_update(self, new: Any, old: Any) -> None:
        """On UpdateStatus, once `new` (the stored object) has the incoming status: keep
        what a status write may not change (a CSR's approval)."""

    def validate(self, errs: Errors, obj: Any) -> None:
        """Add every problem of the kind's own fields (metadata is checked generically)."""

    def admit(self, obj: Any, namespace: Any) -> str | None:
        """A refusal (Forbidden's message) by the admission rules of this kind, given the
        object's Namespace (None for cluster-scoped kinds); None: admitted."""
        return None

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        """Add every problem of changing `old` into `new` (immutable fields, ...)."""

    def validate_subresource_update(
        self, errs: Errors, new: Any, old: Any, subresource: str
    ) -> None:
        """Add every problem of changing `old` into `new` through `subresource` ("status"
        or one of `subresources`): by default those of any update. A kind whose doors
        may change different things overrides it (a CSR's approval, its certificate)."""
        self.validate_update(errs, new, old)

    def apply_defaults(self, obj: Any) -> None:
        """The namespace's default, then the kind's defaults."""
        if self.kind.namespaced and not obj.metadata.namespace:
            obj.metadata.namespace = "default"
        self.default(obj)

    def problems(
        self, obj: Any, old: Any | None = None, *, subresource: str = ""
    ) -> list[FieldError]:
        """Every problem with `obj` (after defaults); `old` is the stored object on update,
        `subresource` the door an update came through ("" the object itself)."""
        errs = Errors()
        kind = self.kind
        validate_meta(errs, obj.metadata, kind=kind.kind, namespaced=kind.namespaced)
        self.validate(errs, obj)
        if old is not None:
            validate_meta_update(errs, obj.metadata, old.metadata)
            if subresource:
                self.validate_subresource_update(errs, obj, old, subresource)
            else:
                self.validate_update(errs, obj, old)
        return list(errs)

    async def authorize_update(
        self, authorizer: Authorizer, new: Any, old: Any, subresource: str
    ) -> None:
        """On update, after validation, when authorization is on: refuse (Forbidden) what
        the caller may not mean by the write although its verb was allowed, asking the
        server's authorizer (approving a CSR asks `approve` on its signer)."""

    # ---- allocation: claimed and released in the object's own transaction ----

    async def claim(self, allocator: ServiceAllocator, new: Any, old: Any | None) -> Claim:
        """On create and Update: what `new` allocates (keys to create, compares that they
        are free), filling the allocated fields in; Invalid naming a field when it cannot."""
        return Claim()

    def release_ops(self, old: Any) -> list[Any]:
        """When `old` leaves the store: deletes of what it had allocated."""
        return []

    # ---- deletion ----

    def check_delete(self, name: str) -> None:
        """Refuse (Forbidden) the deletion of an object that may never be deleted."""

    def mark_deleted(self, obj: Any, grace_period_seconds: int | None, policy: str) -> bool:
        """Record a deletion in `obj` (a copy of the stored object); whether it may leave
        the store at once rather than being kept, marked, until someone lets it go."""
        apply_policy(obj, policy)
        meta = obj.metadata
        if not meta.deletion_timestamp:
            meta.deletion_timestamp = now()
            meta.deletion_grace_period_seconds = 0
        return not meta.finalizers

    def delete_compares(self, name: str) -> list[Any]:
        """What must still hold when the object leaves the store (a namespace is empty)."""
        return []

    def finished(self, obj: Any) -> bool:
        """After an update of an object marked for deletion: whether it may now leave the
        store (its last finalizer is gone)."""
        meta = obj.metadata
        return bool(meta.deletion_timestamp) and not meta.finalizers


def apply_policy(obj: Any, policy: str) -> None:
    """A propagation policy becomes the finalizer the garbage collector acts on."""
    if policy in ("", "Background"):
        return
    if policy not in _POLICY_FINALIZERS:
        raise errors.Invalid(
            f"propagationPolicy: Unsupported value: {policy!r}: supported values: "
            '"Background", "Foreground", "Orphan"'
        )
    finalizers = obj.metadata.finalizers
    wanted = _POLICY_FINALIZERS[policy]
    for other in _POLICY_FINALIZERS.values():
        if other != wanted and other in finalizers:
            finalizers.remove(other)
    if wanted not in finalizers:
        finalizers.append(wanted)

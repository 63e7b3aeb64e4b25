"""The object store behind the resource service: Create, Get, Update and UpdateStatus on etcd.

Each verb reads, decides and then writes with one guarded transaction (writes.py), so a
decision based on a stale read can never land: it comes back as Conflict (when the
caller named the version it read) or is re-made on a fresh read (when it did not).
Deletion lives in deletion.py, List in listing.py, Watch in watching.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from client import errors
from client.codec import FieldError
from client.kinds import Kind, Object, by_resource
from master.apiserver import objects
from master.apiserver.allocators import Claim, ServiceAllocator, keep_allocated, release_ops
from master.apiserver.defaults import apply_defaults
from master.apiserver.etcd import Etcd, compare_mod, compare_version, op_delete, op_put
from master.apiserver.objects import (
    conflict,
    copy_of,
    decode_request,
    decode_stored,
    encode_for_store,
    invalid,
    not_found,
    object_key,
)
from master.apiserver.validation import validate
from master.apiserver.writes import guarded, has_fence
from proto import api_pb2

# Every write is logged at debug: at info, a busy cluster would log more than it works.
log = structlog.get_logger("apiserver.registry")

NAMESPACES = by_resource("namespaces")
PODS = by_resource("pods")
SERVICES = by_resource("services")

RETRIES = 10
"""Fresh reads an unconditional write makes before it gives up with Conflict."""
GENERATE_ATTEMPTS = 8
"""Names tried for a generateName before AlreadyExists."""


def effective_namespace(kind: Kind, requested: str, obj: Object | None = None) -> str:
    """The namespace a request acts in; Invalid when the object says otherwise."""
    if not kind.namespaced:
        if obj is not None:
            obj.metadata.namespace = ""
        return ""
    own = obj.metadata.namespace if obj is not None else ""
    namespace = requested or own or "default"
    if own and own != namespace:
        raise errors.Invalid(
            f"metadata.namespace: Invalid value: {own!r}: the namespace of the object "
            f"does not match the namespace of the request ({namespace!r})"
        )
    if obj is not None:
        obj.metadata.namespace = namespace
    return namespace


def resource_version(text: str) -> int:
    """A request's resourceVersion as a revision (0 when empty); Invalid if not a number."""
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise errors.Invalid(
            f"metadata.resourceVersion: Invalid value: {text!r}: must be a non-negative integer"
        )
    return value


def finished(kind: Kind, obj: Object) -> bool:
    """Whether a deleted object may now leave the store (its last finalizer is gone)."""
    meta = obj.metadata
    if not meta.deletion_timestamp or meta.finalizers or kind is NAMESPACES:
        return False
    # A bound pod stays until its node confirms with grace 0.
    return not (kind is PODS and meta.deletion_grace_period_seconds > 0)


def merge_string_data(obj: Object) -> None:
    """Secrets: stringData is merged into data and never stored."""
    if obj.kind == "Secret":
        secret: Any = obj
        for k, v in secret.string_data.items():
            secret.data[k] = v.encode()
        secret.ClearField("string_data")


def _copy_status(target: Any, source: Any) -> None:
    if source.HasField("status"):
        target.status.CopyFrom(source.status)
    else:
        target.ClearField("status")


def _spec_part(obj: Object) -> bytes:
    """What generation tracks: everything outside metadata and status."""
    copy: Any = copy_of(obj)
    copy.ClearField("metadata")
    if "status" in copy.DESCRIPTOR.fields_by_name:
        copy.ClearField("status")
    return bytes(copy.SerializeToString(deterministic=True))


def _initial_status(kind: Kind, obj: Any) -> None:
    if kind is PODS and not obj.status.phase:
        obj.status.phase = "Pending"
    elif kind is NAMESPACES and not obj.status.phase:
        obj.status.phase = "Active"


def _check(kind: Kind, obj: Object, old: Object | None) -> None:
    problems: list[FieldError] = validate(kind, obj, old)
    if problems:
        raise invalid(kind, obj.metadata.name, problems)


class Registry:
    """Create, Get, Update and UpdateStatus of any kind."""

    def __init__(self, etcd: Etcd, allocator: ServiceAllocator | None = None) -> None:
        self.etcd = etcd
        self.allocator = allocator or ServiceAllocator(etcd)

    async def get(self, kind: Kind, namespace: str, name: str) -> Object:
        """The stored object; NotFound if there is none."""
        ns = effective_namespace(kind, namespace)
        kv, _ = await self.etcd.get(object_key(kind, ns, name))
        if kv is None:
            raise not_found(kind, name)
        return decode_stored(kind, kv.value, kv.mod_revision)

    async def require_namespace(self, kind: Kind, namespace: str, name: str) -> None:
        """NotFound unless the namespace exists; Forbidden while it is being deleted."""
        kv, _ = await self.etcd.get(object_key(NAMESPACES, "", namespace))
        if kv is None:
            raise errors.NotFound(f'namespaces "{namespace}" not found')
        ns = decode_stored(NAMESPACES, kv.value, kv.mod_revision)
        if ns.metadata.deletion_timestamp:
            raise errors.Forbidden(
                f"{objects.resource_named(kind, name)} is forbidden: unable to create new "
                f"content in namespace {namespace} because it is being terminated"
            )

    async def create(
        self,
        kind: Kind,
        namespace: str,
        data: bytes,
        *,
        fence: api_pb2.Fence | None = None,
        dry_run: bool = False,
    ) -> Object:
        """Store a new object; AlreadyExists, NotFound (namespace) or Invalid otherwise."""
        obj: Any = decode_request(kind, data)
        ns = effective_namespace(kind, namespace, obj)
        meta = obj.metadata
        if not meta.name and not meta.generate_name:
            required = "Required value: name or generateName is required"
            raise invalid(kind, "", [FieldError("metadata.name", required)])
        meta.uid = str(uuid.uuid4())
        meta.resource_version = ""
        meta.creation_timestamp = objects.now()
        meta.generation = 1
        meta.deletion_timestamp = ""
        meta.ClearField("deletion_grace_period_seconds")
        _initial_status(kind, obj)
        merge_string_data(obj)
        apply_defaults(kind, obj)
        generate = not meta.name
        for _ in range(GENERATE_ATTEMPTS if generate else 1):
            if generate:
                meta.name = objects.generated_name(meta.generate_name)
            _check(kind, obj, None)
            if kind.namespaced:
                await self.require_namespace(kind, ns, meta.name)
            # ClusterIP and nodePorts: claimed in this very transaction (allocators.py).
            claim = await self.allocator.claim(obj) if kind is SERVICES else Claim()
            if dry_run:
                result: Object = obj
                return result
            key = object_key(kind, ns, meta.name)
            compares = [compare_version(key, "==", 0), *claim.compares]
            if kind.namespaced:
                compares.append(compare_version(object_key(NAMESPACES, "", ns), ">", 0))
            outcome = await guarded(
                self.etcd, key, compares, [op_put(key, encode_for_store(obj)), *claim.ops], fence
            )
            if outcome.succeeded:
                meta.resource_version = str(outcome.revision)
                log.debug("created", key=objects.log_key(kind, ns, meta.name))
                created: Object = obj
                return created
            if outcome.current is None and claim and await self.allocator.lost(claim):
                raise errors.Conflict(
                    f"Operation cannot be fulfilled on {objects.resource_named(kind, meta.name)}: "
                    "its ClusterIP or nodePort was allocated concurrently; please retry"
                )
            if outcome.current is None:
                raise errors.NotFound(f'namespaces "{ns}" not found')
        raise errors.AlreadyExists(f"{objects.resource_named(kind, meta.name)} already exists")

    async def update(
        self,
        kind: Kind,
        namespace: str,
        data: bytes,
        *,
        status: bool = False,
        fence: api_pb2.Fence | None = None,
        dry_run: bool = False,
    ) -> Object:
        """Replace the object (Update: all but status; UpdateStatus: only status).

        Guarded by the object's resourceVersion; an empty one re-reads and retries.
        """
        if status and not kind.has_status:
            raise errors.Invalid(
                f"{kind.resource} have no status subresource: use Update to change them"
            )
        incoming = decode_request(kind, data)
        ns = effective_namespace(kind, namespace, incoming)
        name = incoming.metadata.name
        if not name:
            raise invalid(kind, "", [FieldError("metadata.name", "Required value")])
        expected = resource_version(incoming.metadata.resource_version)
        key = object_key(kind, ns, name)
        for _ in range(RETRIES):
            kv, _ = await self.etcd.get(key)
            if kv is None:
                raise not_found(kind, name)
            if expected and kv.mod_revision != expected:
                raise conflict(kind, name)
            old = decode_stored(kind, kv.value, kv.mod_revision)
            if incoming.metadata.uid and incoming.metadata.uid != old.metadata.uid:
                raise errors.Conflict(
                    f"Precondition failed: UID in precondition: {incoming.metadata.uid}, "
                    f"UID in object meta: {old.metadata.uid}"
                )
            new = self._updated(kind, old, incoming, status)
            claim = (
                await self.allocator.claim(new, old)
                if kind is SERVICES and not status
                else Claim()
            )
            compares = [compare_mod(key, kv.mod_revision), *claim.compares]
            if encode_for_store(new) == kv.value:
                # Kubernetes writes nothing for a no-op update: no new revision, no event.
                if has_fence(fence):
                    await guarded(self.etcd, key, compares, [], fence)
                return old
            if dry_run:
                return new
            done = finished(kind, new)
            success = (
                [op_delete(key), *release_ops(old)]
                if done
                else [op_put(key, encode_for_store(new)), *claim.ops]
            )
            outcome = await guarded(self.etcd, key, compares, success, fence)
            if outcome.succeeded:
                new.metadata.resource_version = str(outcome.revision)
                log.debug(
                    "deleted after last finalizer" if done else "updated",
                    key=objects.log_key(kind, ns, name),
                    status=status,
                )
                return new
            if outcome.current is None:
                raise not_found(kind, name)
            if expected:
                raise conflict(kind, name)
        raise conflict(kind, name)

    def _updated(self, kind: Kind, old: Object, incoming: Object, status: bool) -> Object:
        """The object to store for an update of `old` by `incoming`."""
        if status:
            new: Any = copy_of(old)
            _copy_status(new, incoming)
        else:
            new = copy_of(incoming)
            keep_allocated(new, old)
            m, o = new.metadata, old.metadata
            m.uid = o.uid
            m.creation_timestamp = o.creation_timestamp
            m.deletion_timestamp = o.deletion_timestamp
            if o.HasField("deletion_grace_period_seconds"):
                m.deletion_grace_period_seconds = o.deletion_grace_period_seconds
            else:
                m.ClearField("deletion_grace_period_seconds")
            if kind.has_status and "status" in new.DESCRIPTOR.fields_by_name:
                _copy_status(new, old)
            merge_string_data(new)
            apply_defaults(kind, new)
            changed = _spec_part(new) != _spec_part(old)
            m.generation = o.generation + 1 if changed else o.generation
            if o.deletion_timestamp:
                added = set(m.finalizers) - set(o.finalizers)
                if added:
                    raise invalid(
                        kind,
                        m.name,
                        [
                            FieldError(
                                "metadata.finalizers",
                                f"Forbidden: no new finalizers can be added if the object is "
                                f"being deleted, found new finalizers {sorted(added)}",
                            )
                        ],
                    )
        new.metadata.resource_version = old.metadata.resource_version
        _check(kind, new, old)
        result: Object = new
        return result

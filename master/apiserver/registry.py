"""The object store behind the resource service: Create, Get, Update and UpdateStatus on etcd.

Every verb reads as the same phases: decode the request → read what is stored → merge
the two → let the kind's strategy (strategies/) prepare, default and validate → one
guarded transaction (writes.py). The store holds no kind's rules: whatever differs by
kind is a Strategy method. A decision based on a stale read can never land: it comes back
as Conflict (when the caller named the version it read) or is re-made on a fresh read
(when it did not). A Get at resourceVersion "0" is answered by the watch cache, as
kube-apiserver's: a kubelet's heartbeat read of its Node costs etcd nothing. Deletion
lives in deletion.py, List in listing.py, Watch in watching.py.
"""

from __future__ import annotations

import random
import string
import uuid
from typing import Any

import structlog

from client import errors
from client.codec import FieldError
from client.informer import copy_object
from client.kinds import Kind, Object, by_resource
from client.timestamps import now
from master.apiserver.admission.matching import Stored, Write
from master.apiserver.admission.namespaced import NamespaceAdmission, NamespaceReads
from master.apiserver.admission.policies import PolicyAdmission
from master.apiserver.admission.webhooks import WebhookAdmission
from master.apiserver.allocators import Claim, ServiceAllocator
from master.apiserver.apierrors import conflict, invalid, not_found, resource_named
from master.apiserver.auth.authorizer import Authorizer
from master.apiserver.etcd import Etcd, compare_mod, compare_version, op_delete, op_put
from master.apiserver.objects import (
    decode_stored,
    encode_for_store,
    log_key,
    object_key,
    same_content,
    unchanged,
)
from master.apiserver.requests import (
    copy_of,
    decode_request,
    effective_namespace,
    resource_version,
)
from master.apiserver.strategies import Strategy, strategy_for
from master.apiserver.watchcache import WatchCache
from master.apiserver.writes import check_retry, guarded, has_fence
from proto import api_pb2

# Every write is logged at debug: at info, a busy cluster would log more than it works.
log = structlog.get_logger("apiserver.registry")

NAMESPACES = by_resource("namespaces")

RETRIES = 10
"""Fresh reads an unconditional write makes before it gives up with Conflict."""
GENERATE_ATTEMPTS = 8
"""Names tried for a generateName before AlreadyExists."""
QUOTA_RECOUNTS = 16
"""How often a create counts its quotas again after losing a race for them."""
ALLOCATION_RETRIES = 8
"""How often a create claims a ClusterIP or nodePort again after another server took it."""

_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits


def generated_name(prefix: str) -> str:
    """generateName plus five random lowercase letters and digits."""
    return prefix + "".join(random.choices(_SUFFIX_ALPHABET, k=5))


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


def _check(strategy: Strategy, obj: Object, old: Object | None, subresource: str = "") -> None:
    problems: list[FieldError] = strategy.problems(obj, old, subresource=subresource)
    if problems:
        raise invalid(strategy.kind, obj.metadata.name, problems)


_SERVER_OWNED = (
    "name",
    "namespace",
    "uid",
    "resource_version",
    "creation_timestamp",
    "generation",
    "deletion_timestamp",
)


def _take_mutation(strategy: Strategy, obj: Any, mutated: Any) -> None:
    """`obj` becomes what the mutating webhooks made of it, keeping what the server owns
    (its name, uid, versions and times), canonical and defaulted again as Kubernetes
    decodes a webhook's result again."""
    kept = {field: getattr(obj.metadata, field) for field in _SERVER_OWNED}
    grace = obj.metadata.deletion_grace_period_seconds
    had_grace = obj.metadata.HasField("deletion_grace_period_seconds")
    obj.CopyFrom(mutated)
    for field, value in kept.items():
        setattr(obj.metadata, field, value)
    if had_grace:
        obj.metadata.deletion_grace_period_seconds = grace
    else:
        obj.metadata.ClearField("deletion_grace_period_seconds")
    strategy.canonicalize(obj)
    strategy.apply_defaults(obj)


def _no_finalizers_added(kind: Kind, new: Any, old: Any) -> None:
    """Once an object is being deleted, nobody may hold it back with a new finalizer."""
    added = set(new.metadata.finalizers) - set(old.metadata.finalizers)
    if old.metadata.deletion_timestamp and added:
        detail = (
            "Forbidden: no new finalizers can be added if the object is being deleted, "
            f"found new finalizers {sorted(added)}"
        )
        raise invalid(kind, new.metadata.name, [FieldError("metadata.finalizers", detail)])


class Registry:
    """Create, Get, Update and UpdateStatus of any kind."""

    def __init__(
        self,
        etcd: Etcd,
        allocator: ServiceAllocator | None = None,
        *,
        cache: WatchCache | None = None,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.etcd = etcd
        self.allocator = allocator or ServiceAllocator(etcd)
        self.cache = cache
        """The server's watch cache, where an update finds the version it replaces and
        a create what its admission reads."""
        self.admission = NamespaceAdmission(etcd, cache)
        self.policies = PolicyAdmission(etcd, cache)
        """ValidatingAdmissionPolicies, after the kind's own rules and admission."""
        self.webhooks = WebhookAdmission(etcd, cache)
        """Admission webhooks: mutating ones before the kind's rules, validating ones
        after the policies."""
        self.stored = Stored(etcd, cache)
        """Single reads, from the watch cache once it has the kind."""
        self.authorizer = authorizer
        """The server's authorizer, which a kind's rules may ask what the caller may mean
        by a write (Kubernetes' CertificateApproval asks `approve` on a CSR's signer);
        None with authorization off."""

    def _cached(self, kind: Kind, key: bytes, expected: int) -> Object | None:
        """A copy of the watch cache's object at `key` when it is at revision `expected`."""
        cacher = self.cache.cachers.get(kind.resource) if self.cache and expected else None
        if cacher is None or not cacher.ready.is_set():
            return None
        found = cacher.store.get(key)
        if found is None or found.metadata.resource_version != str(expected):
            return None
        return copy_of(found)

    async def get(
        self, kind: Kind, namespace: str, name: str, resource_version: str = ""
    ) -> Object:
        """The object; NotFound if there is none. As kube-apiserver's GET: at
        resourceVersion "" the newest, read from etcd; at "0" any version, and at a
        number one not older than it, both from the watch cache once it has listed and
        reached that version, else from etcd (the first such read of a kind starts its
        cache). The caller has checked that the version is a number."""
        ns = effective_namespace(kind, namespace)
        key = object_key(kind, ns, name)
        cacher = self.cache.ready_now(kind) if self.cache and resource_version else None
        if cacher is not None and cacher.revision >= int(resource_version):
            found = cacher.store.get(key)
            if found is None:
                raise not_found(kind, name)
            return copy_of(found)
        kv, _ = await self.etcd.get(key)
        if kv is None:
            raise not_found(kind, name)
        return decode_stored(kind, kv.value, kv.mod_revision)

    @staticmethod
    def require_namespace(kind: Kind, namespace: str, name: str, ns: Any | None) -> Any:
        """The Namespace `ns`; NotFound unless it exists, Forbidden while it is being
        deleted."""
        if ns is None:
            raise errors.NotFound(f'namespaces "{namespace}" not found')
        if ns.metadata.deletion_timestamp:
            raise errors.Forbidden(
                f"{resource_named(kind, name)} is forbidden: unable to create new "
                f"content in namespace {namespace} because it is being terminated"
            )
        return ns

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
        strategy = strategy_for(kind)
        obj: Any = decode_request(kind, data)
        ns = effective_namespace(kind, namespace, obj)
        meta = obj.metadata
        if not meta.name and not meta.generate_name:
            required = "Required value: name or generateName is required"
            raise invalid(kind, "", [FieldError("metadata.name", required)])
        meta.uid = str(uuid.uuid4())
        meta.resource_version = ""
        meta.creation_timestamp = now()
        meta.generation = 1
        meta.deletion_timestamp = ""
        meta.ClearField("deletion_grace_period_seconds")
        strategy.prepare_for_create(obj)
        strategy.canonicalize(obj)
        strategy.apply_defaults(obj)
        # A namespaced kind's admission reads (its Namespace, the webhook configurations
        # among them) come first, so a missing namespace is refused before any webhook
        # is called; the first attempt below uses them unless a webhook changed the
        # object, which may change what admission must read (a pod's ServiceAccount).
        ahead: NamespaceReads | None = None
        if kind.namespaced:
            ahead = await self.admission.read(kind, ns, obj)
            self.require_namespace(kind, ns, meta.name or meta.generate_name, ahead.namespace)
        mutated = await self.webhooks.mutate(
            Write(kind, "CREATE", ns, meta.name, obj, dry_run=dry_run),
            ahead.namespace if ahead else None,
            ahead.mutating_webhooks if ahead else None,
        )
        if mutated is not None:
            _take_mutation(strategy, obj, mutated)
            # Kubernetes runs mutating admission before PrepareForCreate: what the server
            # owns (a CSR's requester, a new object's status) is never a webhook's to set.
            strategy.prepare_for_create(obj)
            ahead = None
        generate = not meta.name
        names_left, recounts_left = GENERATE_ATTEMPTS if generate else 1, QUOTA_RECOUNTS
        allocations_left = ALLOCATION_RETRIES
        pristine = copy_object(obj)
        fresh = False
        while names_left > 0:
            if generate:
                meta.name = generated_name(meta.generate_name)
            _check(strategy, obj, None)
            namespace_obj = None
            reads = NamespaceReads(None)
            if kind.namespaced:
                if ahead is not None and not fresh:
                    reads, ahead = ahead, None
                else:
                    reads = await self.admission.read(kind, ns, obj, fresh=fresh)
                namespace_obj = self.require_namespace(kind, ns, meta.name, reads.namespace)
            refused = strategy.admit(obj, namespace_obj)
            if refused:
                raise errors.Forbidden(refused)
            # LimitRange defaults and bounds; quotas, checked and counted in this very
            # transaction (admission/namespaced.py).
            admitted = await self.admission.admit(kind, ns, obj, reads)
            write = Write(kind, "CREATE", ns, meta.name, obj, dry_run=dry_run)
            await self.policies.check(
                write,
                bindings=reads.policy_bindings if kind.namespaced else None,
                namespace_obj=namespace_obj,
            )
            await self.webhooks.validate(
                write, namespace_obj, reads.validating_webhooks if kind.namespaced else None
            )
            # ClusterIP and nodePorts: claimed in this very transaction (allocators.py).
            claim = await strategy.claim(self.allocator, obj, None)
            if dry_run:
                result: Object = obj
                return result
            key = object_key(kind, ns, meta.name)
            compares = [compare_version(key, "==", 0), *claim.compares, *admitted.compares]
            if kind.namespaced:
                compares.append(compare_version(object_key(NAMESPACES, "", ns), ">", 0))
            compares += reads.guards
            ops = [op_put(key, encode_for_store(obj)), *claim.ops, *admitted.ops]
            outcome = await guarded(self.etcd, key, compares, ops, fence)
            if not outcome.succeeded and outcome.current is None and reads.cached:
                # The cache was behind etcd: admit again from etcd itself, from the
                # object as it came (admission may have defaulted it).
                fresh = True
                obj.CopyFrom(pristine)
                continue
            if not outcome.succeeded and outcome.current is None and admitted and recounts_left:
                # A quota changed since it was counted (another create, an edit): count again.
                recounts_left -= 1
                continue
            names_left -= 1
            if outcome.succeeded:
                meta.resource_version = str(outcome.revision)
                log.debug("created", key=log_key(kind, ns, meta.name))
                created: Object = obj
                return created
            if outcome.current is None and claim and await self.allocator.lost(claim):
                if allocations_left > 0:
                    # Another API server took the address or port meanwhile: claim again
                    # from the object as it came, as Kubernetes' allocators retry.
                    allocations_left -= 1
                    names_left += 1
                    obj.CopyFrom(pristine)
                    continue
                raise errors.Conflict(
                    f"Operation cannot be fulfilled on {resource_named(kind, meta.name)}: "
                    "its ClusterIP or nodePort was allocated concurrently; please retry"
                )
            if outcome.current is None:
                raise errors.NotFound(f'namespaces "{ns}" not found')
        raise errors.AlreadyExists(f"{resource_named(kind, meta.name)} already exists")

    async def update(
        self,
        kind: Kind,
        namespace: str,
        data: bytes,
        *,
        subresource: str = "",
        fence: api_pb2.Fence | None = None,
        dry_run: bool = False,
    ) -> Object:
        """Replace the object: Update all but its status, "status" only the status, and a
        subresource its kind's strategy names only what it owns (a pod's
        "ephemeralcontainers").

        Guarded by the object's resourceVersion; an empty one re-reads and retries.
        """
        status = subresource == "status"
        if status and not kind.has_status:
            raise errors.Invalid(
                f"{kind.resource} have no status subresource: use Update to change them"
            )
        strategy = strategy_for(kind)
        if subresource and not status and subresource not in strategy.subresources:
            raise errors.NotFound(f"{kind.resource} have no {subresource} subresource")
        incoming = decode_request(kind, data)
        ns = effective_namespace(kind, namespace, incoming)
        name = incoming.metadata.name
        if not name:
            raise invalid(kind, "", [FieldError("metadata.name", "Required value")])
        expected = resource_version(incoming.metadata.resource_version)
        key = object_key(kind, ns, name)
        for attempt in range(RETRIES):
            cached = self._cached(kind, key, expected) if attempt == 0 else None
            if cached is not None:
                # The cache holds the very version the client based this on: the
                # transaction's compare checks it is still current, so no read.
                old, revision, stored = cached, expected, b""
            else:
                kv, _ = await self.etcd.get(key)
                if kv is None:
                    raise not_found(kind, name)
                if expected and kv.mod_revision != expected:
                    raise conflict(kind, name)
                old = decode_stored(kind, kv.value, kv.mod_revision)
                revision, stored = kv.mod_revision, kv.value
            if incoming.metadata.uid and incoming.metadata.uid != old.metadata.uid:
                raise errors.Conflict(
                    f"Precondition failed: UID in precondition: {incoming.metadata.uid}, "
                    f"UID in object meta: {old.metadata.uid}"
                )
            new = _merged(strategy, old, incoming, subresource)
            mutated = await self.webhooks.mutate(
                Write(kind, "UPDATE", ns, name, new, old, subresource=subresource, dry_run=dry_run)
            )
            if mutated is not None:
                _take_mutation(strategy, new, mutated)
                # Merged again, as PrepareForUpdate follows mutating admission: a webhook
                # changes only what the write itself may change.
                new = _merged(strategy, old, new, subresource)
            _check(strategy, new, old, subresource)
            if subresource in strategy.subresources:
                # What a subresource adds is admitted as a create's content is: PodSecurity
                # judges a debugger's capabilities, as Kubernetes' admission judges
                # pods/ephemeralcontainers.
                namespace_obj = (
                    await self.stored.get(NAMESPACES, "", ns) if kind.namespaced else None
                )
                refused = strategy.admit(new, namespace_obj)
                if refused:
                    raise errors.Forbidden(refused)
            if self.authorizer is not None:
                await strategy.authorize_update(self.authorizer, new, old, subresource)
            write = Write(
                kind, "UPDATE", ns, name, new, old, subresource=subresource, dry_run=dry_run
            )
            await self.policies.check(write)
            await self.webhooks.validate(write)
            claim = Claim() if subresource else await strategy.claim(self.allocator, new, old)
            compares = [compare_mod(key, revision), *claim.compares]
            if unchanged(new, stored) if stored else same_content(new, old):
                # Kubernetes writes nothing for a no-op update: no new revision, no event.
                if has_fence(fence):
                    await guarded(self.etcd, key, compares, [], fence)
                return old
            if dry_run:
                return new
            done = strategy.finished(new)
            success = (
                [op_delete(key), *strategy.release_ops(old)]
                if done
                else [op_put(key, encode_for_store(new)), *claim.ops]
            )
            outcome = await guarded(self.etcd, key, compares, success, fence)
            if outcome.succeeded:
                new.metadata.resource_version = str(outcome.revision)
                log.debug(
                    "deleted after last finalizer" if done else "updated",
                    key=log_key(kind, ns, name),
                    subresource=subresource,
                )
                return new
            check_retry(outcome, kind, name, expected)
        raise conflict(kind, name)


def _merged(strategy: Strategy, old: Object, incoming: Object, subresource: str) -> Object:
    """The object to store when `incoming` updates `old`: UpdateStatus takes only the
    status, another subresource only its part, Update everything but the status and what
    the server owns."""
    kind = strategy.kind
    new: Any
    if subresource == "status":
        new = copy_of(old)
        _copy_status(new, incoming)
        strategy.prepare_for_status_update(new, old)
    elif subresource:
        new = copy_of(old)
        strategy.subresources[subresource](new, incoming)
        strategy.apply_defaults(new)  # the part taken in is defaulted as on create
    else:
        new = copy_of(incoming)
        strategy.prepare_for_update(new, old)
        m, o = new.metadata, old.metadata
        m.uid = o.uid
        m.creation_timestamp = o.creation_timestamp
        m.deletion_timestamp = o.deletion_timestamp
        if not m.managed_fields:
            # As Kubernetes: an update that leaves managedFields out keeps them.
            m.managed_fields.extend(o.managed_fields)
        if o.HasField("deletion_grace_period_seconds"):
            m.deletion_grace_period_seconds = o.deletion_grace_period_seconds
        else:
            m.ClearField("deletion_grace_period_seconds")
        if kind.has_status and "status" in new.DESCRIPTOR.fields_by_name:
            _copy_status(new, old)
        strategy.canonicalize(new)
        strategy.apply_defaults(new)
        m.generation = o.generation + 1 if _spec_part(new) != _spec_part(old) else o.generation
        _no_finalizers_added(kind, new, old)
    new.metadata.resource_version = old.metadata.resource_version
    result: Object = new
    return result

"""The admission steps that read the namespace's own policy objects from etcd: the pod's
ServiceAccount must exist (and gives its imagePullSecrets to a pod naming none),
LimitRanges (limitranger.py) and the RuntimeClass a pod names (runtimeclass.py, though
cluster-scoped) for pods, the default IngressClass (ingressclass.py) for
ingresses, the default StorageClass (defaultstorageclass.py) for claims, then
ResourceQuotas (client/quota.py) for every kind.

A quota is enforced inside the create's own etcd transaction: the quotas it was checked
against are compared by revision and written back with their new `status.used`. Two
creates racing for the last unit of a quota cannot both pass: the second one's compare
fails, and the registry counts again. Deletions do not write quotas; the next admission
counts from the objects themselves, so `status.used` can lag after a delete but never
lets a namespace past its hard limits.

Reads come from the server's watch cache when every kind they need is cached there, as
kube-apiserver's admission plugins read informers: a create is then one etcd request, not
two. A cached read is only a guess, so it adds compares to the create's transaction that
hold exactly when etcd still agrees with it: each object it found is at the revision it
saw, and nothing under each prefix it read changed after the cache's revision (a range
compare; an empty range compares as absent). When they fail, the registry reads etcd and
tries again, so a stale cache can cost a retry but never decide a create.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from client import errors, quota
from client.informer import copy_object
from client.kinds import Kind, by_resource
from master.apiserver.admission import (
    defaultstorageclass,
    ingressclass,
    limitranger,
    runtimeclass,
)
from master.apiserver.allocators import Claim
from master.apiserver.apierrors import resource_named
from master.apiserver.etcd import Etcd, compare_mod, compare_mod_below, op_put, prefix_end
from master.apiserver.listing import list_objects
from master.apiserver.objects import collection_prefix, decode_stored, encode_for_store, object_key
from master.apiserver.selection import parse
from master.apiserver.watchcache import WatchCache

QUOTAS = by_resource("resourcequotas")
LIMIT_RANGES = by_resource("limitranges")
SERVICE_ACCOUNTS = by_resource("serviceaccounts")
NAMESPACES = by_resource("namespaces")
INGRESS_CLASSES = by_resource("ingressclasses")
STORAGE_CLASSES = by_resource("storageclasses")
POLICY_BINDINGS = by_resource("validatingadmissionpolicybindings")
MUTATING_WEBHOOKS = by_resource("mutatingwebhookconfigurations")
VALIDATING_WEBHOOKS = by_resource("validatingwebhookconfigurations")
RUNTIME_CLASSES = by_resource("runtimeclasses")

MAX_GUARDS = 64
"""Compares a cached read may add to a create's transaction; more are read from etcd."""


@dataclass
class NamespaceReads:
    """What a create reads of its namespace before its transaction: the Namespace (None:
    there is none), whether the pod's ServiceAccount exists, and the namespace's
    LimitRanges (pods only) and ResourceQuotas."""

    namespace: Any | None
    account_found: bool = True
    account: Any | None = None
    """The pod's ServiceAccount when found (its imagePullSecrets go to the pod)."""
    limit_ranges: list[Any] = field(default_factory=list)
    runtime_class: Any | None = None
    """The RuntimeClass a pod names, when there is one by that name."""
    quotas: list[Any] = field(default_factory=list)
    ingress_classes: list[Any] = field(default_factory=list)
    """Ingresses only: every IngressClass, for the default class."""
    storage_classes: list[Any] = field(default_factory=list)
    """PersistentVolumeClaims only: every StorageClass, for the default class."""
    policy_bindings: list[Any] = field(default_factory=list)
    """Every ValidatingAdmissionPolicyBinding (policies.py), read with the rest so that a
    create still costs one read when nothing is cached."""
    mutating_webhooks: list[Any] = field(default_factory=list)
    validating_webhooks: list[Any] = field(default_factory=list)
    """Every webhook configuration (webhooks.py), for the same reason."""
    guards: list[Any] = field(default_factory=list)
    """Read from the watch cache: the compares under which etcd still agrees (above)."""

    @property
    def cached(self) -> bool:
        return bool(self.guards)


@dataclass(frozen=True)
class _Want:
    """One read of a create's admission: a key (`end` empty) or a key range of `kind`."""

    field: str
    kind: Kind
    start: bytes
    end: bytes = b""


def _wants(kind: Kind, namespace: str, obj: Any) -> list[_Want]:
    """What admission of `obj` reads, by the NamespaceReads field it fills."""
    wants = [_Want("namespace", NAMESPACES, object_key(NAMESPACES, "", namespace))]
    if kind.resource == "pods":
        account = obj.spec.service_account_name or "default"
        key = object_key(SERVICE_ACCOUNTS, namespace, account)
        wants += [
            _Want("account_found", SERVICE_ACCOUNTS, key),
            _range("limit_ranges", LIMIT_RANGES, namespace),
        ]
        if obj.spec.HasField("runtime_class_name"):
            key = object_key(RUNTIME_CLASSES, "", obj.spec.runtime_class_name)
            wants.append(_Want("runtime_class", RUNTIME_CLASSES, key))
    if kind.resource == "ingresses":
        wants.append(_range("ingress_classes", INGRESS_CLASSES, ""))
    if kind.resource == "persistentvolumeclaims":
        wants.append(_range("storage_classes", STORAGE_CLASSES, ""))
        wants.append(_range("limit_ranges", LIMIT_RANGES, namespace))
    wants.append(_range("quotas", QUOTAS, namespace))
    wants.append(_range("policy_bindings", POLICY_BINDINGS, ""))
    wants.append(_range("mutating_webhooks", MUTATING_WEBHOOKS, ""))
    wants.append(_range("validating_webhooks", VALIDATING_WEBHOOKS, ""))
    return wants


def _range(name: str, kind: Kind, namespace: str) -> _Want:
    start = collection_prefix(kind, namespace)
    return _Want(name, kind, start, prefix_end(start))


def _fill(reads: NamespaceReads, want: _Want, found: list[Any]) -> None:
    if want.field == "namespace":
        reads.namespace = found[0] if found else None
    elif want.field == "account_found":
        reads.account_found = bool(found)
        reads.account = found[0] if found else None
    elif want.field == "runtime_class":
        reads.runtime_class = found[0] if found else None
    else:
        setattr(reads, want.field, found)


class NamespaceAdmission:
    """LimitRange and ResourceQuota admission for creates."""

    def __init__(self, etcd: Etcd, cache: WatchCache | None = None) -> None:
        self.etcd = etcd
        self.cache = cache

    async def _all(self, kind: Kind, namespace: str) -> list[Any]:
        return list((await list_objects(self.etcd, kind, namespace, parse("", ""))).items)

    async def read(
        self, kind: Kind, namespace: str, obj: Any, *, fresh: bool = False
    ) -> NamespaceReads:
        """Everything admission needs of the namespace: from the watch cache, guarded, or
        (`fresh`, or not all cached) in one etcd round trip (they were four reads one
        after another for a pod: most of a create's time)."""
        wants = _wants(kind, namespace, obj)
        if not fresh:
            cached = self._from_cache(wants)
            if cached is not None:
                return cached
        answers = await self.etcd.read_all([(w.start, w.end) for w in wants])
        reads = NamespaceReads(None)
        for want, answer in zip(wants, answers, strict=True):
            found = [decode_stored(want.kind, kv.value, kv.mod_revision) for kv in answer.kvs]
            _fill(reads, want, found)
        return reads

    def _from_cache(self, wants: list[_Want]) -> NamespaceReads | None:
        """The reads from the watch cache with their guards; None when a kind is not
        cached yet, or a single key is missing (an error to answer from etcd itself)."""
        if self.cache is None:
            return None
        # Every kind asked for at once: each one missing starts caching now.
        cachers = [self.cache.ready_now(want.kind) for want in wants]
        reads = NamespaceReads(None)
        for want, cacher in zip(wants, cachers, strict=True):
            if cacher is None:
                return None
            if not want.end:
                one = cacher.store.get(want.start)
                if one is None:
                    return None
                found = [one]
            else:
                found = [o for k, o in cacher.store.items() if want.start <= k < want.end]
                # Nothing under the prefix is newer than what the cache has seen.
                reads.guards.append(compare_mod_below(want.start, cacher.revision + 1, want.end))
            for o in found:
                key = object_key(want.kind, o.metadata.namespace, o.metadata.name)
                reads.guards.append(compare_mod(key, int(o.metadata.resource_version)))
            # Admission changes quotas' status in place: never the cache's own objects.
            _fill(reads, want, [copy_object(o) for o in found] if want.field == "quotas" else found)
        # etcd refuses a transaction of more than 128 compares (--max-txn-ops).
        return reads if len(reads.guards) <= MAX_GUARDS else None

    async def admit(self, kind: Kind, namespace: str, obj: Any, reads: NamespaceReads) -> Claim:
        """Default and check `obj` against what `read` found; what its transaction must add
        (quota compares and writes). Forbidden, naming the rule, when it is refused."""
        claim = Claim()
        if not kind.namespaced:
            return claim
        what = resource_named(kind, obj.metadata.name or obj.metadata.generate_name)
        if kind.resource == "pods":
            account = obj.spec.service_account_name or "default"
            if not reads.account_found:
                raise errors.Forbidden(
                    f"{what} is forbidden: error looking up service account "
                    f'{namespace}/{account}: serviceaccount "{account}" not found'
                )
            if not obj.spec.image_pull_secrets and reads.account is not None:
                # ServiceAccount admission: the account's pull secrets, unless the pod
                # names its own.
                obj.spec.image_pull_secrets.extend(reads.account.image_pull_secrets)
            problems = limitranger.apply(obj, reads.limit_ranges)
            if problems:
                raise errors.Forbidden(f"{what} is forbidden: [{', '.join(problems)}]")
            # Before quotas, which count the overhead it sets.
            runtimeclass.admit(obj, reads.runtime_class, what)
        if kind.resource == "ingresses":
            ingressclass.apply(obj, reads.ingress_classes)
        if kind.resource == "persistentvolumeclaims":
            defaultstorageclass.apply(obj, reads.storage_classes)
            problems = limitranger.claim_problems(obj, reads.limit_ranges)
            if problems:
                raise errors.Forbidden(f"{what} is forbidden: {', '.join(problems)}")
        quotas = [
            q for q in reads.quotas if quota.touches(kind, q) and quota.in_scope(q, kind, obj)
        ]
        if not quotas:
            return claim
        names = sorted({name for q in quotas for name in q.spec.hard})
        adds, missing = quota.usage_of(kind, obj, names)
        for q in quotas:
            lacking = [n for n in missing if n in q.spec.hard]
            if lacking:
                raise errors.Forbidden(
                    f"{what} is forbidden: failed quota: {q.metadata.name}: must specify "
                    f"{','.join(lacking)}"
                )
        objects = await self._all(kind, namespace)
        # Each quota counts only the objects its scopes match.
        used = {
            q.metadata.name: quota.total(
                kind, [o for o in objects if quota.in_scope(q, kind, o)], q.spec.hard
            )
            for q in quotas
        }
        for q in quotas:
            refusal = quota.exceeded(q, used[q.metadata.name], adds)
            if refusal:
                raise errors.Forbidden(f"{what} is forbidden: {refusal}")
        for q in quotas:
            q.status.hard.clear()
            q.status.hard.update(q.spec.hard)
            counted = used[q.metadata.name]
            for name in q.spec.hard:
                # Only what this kind counts: a Service must not zero the claims' share.
                if name in counted and name in adds:
                    q.status.used[name] = quota.show(name, counted[name] + adds[name])
            key = object_key(QUOTAS, namespace, q.metadata.name)
            claim.compares.append(compare_mod(key, int(q.metadata.resource_version)))
            claim.ops.append(op_put(key, encode_for_store(q)))
        return claim

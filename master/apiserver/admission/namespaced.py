"""The admission steps that read the namespace's own policy objects from etcd: the pod's
ServiceAccount must exist, LimitRanges (limitranger.py) for pods, the default IngressClass
(ingressclass.py) for ingresses, the default StorageClass (defaultstorageclass.py) for
claims, then ResourceQuotas (client/quota.py) for every kind.

A quota is enforced inside the create's own etcd transaction: the quotas it was checked
against are compared by revision and written back with their new `status.used`. Two
creates racing for the last unit of a quota cannot both pass: the second one's compare
fails, and the registry counts again. Deletions do not write quotas; the next admission
counts from the objects themselves, so `status.used` can lag after a delete but never
lets a namespace past its hard limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from client import errors, quota
from client.kinds import Kind, by_resource
from master.apiserver.admission import defaultstorageclass, ingressclass, limitranger
from master.apiserver.allocators import Claim
from master.apiserver.apierrors import resource_named
from master.apiserver.etcd import Etcd, compare_mod, op_put, prefix_end
from master.apiserver.listing import list_objects
from master.apiserver.objects import collection_prefix, decode_stored, encode_for_store, object_key
from master.apiserver.selection import parse

QUOTAS = by_resource("resourcequotas")
LIMIT_RANGES = by_resource("limitranges")
SERVICE_ACCOUNTS = by_resource("serviceaccounts")
NAMESPACES = by_resource("namespaces")
INGRESS_CLASSES = by_resource("ingressclasses")
STORAGE_CLASSES = by_resource("storageclasses")


@dataclass
class NamespaceReads:
    """What a create reads of its namespace before its transaction: the Namespace's
    KeyValue (None: there is none), whether the pod's ServiceAccount exists, and the
    namespace's LimitRanges (pods only) and ResourceQuotas."""

    namespace: Any | None
    account_found: bool = True
    limit_ranges: list[Any] = field(default_factory=list)
    quotas: list[Any] = field(default_factory=list)
    ingress_classes: list[Any] = field(default_factory=list)
    """Ingresses only: every IngressClass, for the default class."""
    storage_classes: list[Any] = field(default_factory=list)
    """PersistentVolumeClaims only: every StorageClass, for the default class."""


def _prefix(kind: Kind, namespace: str) -> tuple[bytes, bytes]:
    start = collection_prefix(kind, namespace)
    return start, prefix_end(start)


def _decoded(kind: Kind, resp: Any) -> list[Any]:
    return [decode_stored(kind, kv.value, kv.mod_revision) for kv in resp.kvs]


class NamespaceAdmission:
    """LimitRange and ResourceQuota admission for creates."""

    def __init__(self, etcd: Etcd) -> None:
        self.etcd = etcd

    async def _all(self, kind: Kind, namespace: str) -> list[Any]:
        return list((await list_objects(self.etcd, kind, namespace, parse("", ""))).items)

    async def read(self, kind: Kind, namespace: str, obj: Any) -> NamespaceReads:
        """Everything admission needs of the namespace, in one etcd round trip (they were
        four reads one after another for a pod: most of a create's time)."""
        ranges = [(object_key(NAMESPACES, "", namespace), b"")]
        pod = kind.resource == "pods"
        if pod:
            account = obj.spec.service_account_name or "default"
            ranges += [
                (object_key(SERVICE_ACCOUNTS, namespace, account), b""),
                _prefix(LIMIT_RANGES, namespace),
            ]
        ingress = kind.resource == "ingresses"
        if ingress:
            ranges.append(_prefix(INGRESS_CLASSES, ""))
        claim = kind.resource == "persistentvolumeclaims"
        if claim:
            ranges.append(_prefix(STORAGE_CLASSES, ""))
        ranges.append(_prefix(QUOTAS, namespace))
        answers = await self.etcd.read_all(ranges)
        reads = NamespaceReads(answers[0].kvs[0] if answers[0].kvs else None)
        if pod:
            reads.account_found = bool(answers[1].kvs)
            reads.limit_ranges = _decoded(LIMIT_RANGES, answers[2])
        if ingress:
            reads.ingress_classes = _decoded(INGRESS_CLASSES, answers[-2])
        if claim:
            reads.storage_classes = _decoded(STORAGE_CLASSES, answers[-2])
        reads.quotas = _decoded(QUOTAS, answers[-1])
        return reads

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
            problems = limitranger.apply(obj, reads.limit_ranges)
            if problems:
                raise errors.Forbidden(f"{what} is forbidden: [{', '.join(problems)}]")
        if kind.resource == "ingresses":
            ingressclass.apply(obj, reads.ingress_classes)
        if kind.resource == "persistentvolumeclaims":
            defaultstorageclass.apply(obj, reads.storage_classes)
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
                if name in counted:
                    q.status.used[name] = quota.show(name, counted[name] + adds.get(name, 0))
            key = object_key(QUOTAS, namespace, q.metadata.name)
            claim.compares.append(compare_mod(key, int(q.metadata.resource_version)))
            claim.ops.append(op_put(key, encode_for_store(q)))
        return claim

"""A write as admission sees it, and the questions both policies and webhooks ask of it.

ValidatingAdmissionPolicies and admission webhooks select writes the same way in
Kubernetes: rules naming operations, groups, versions and resources (with `*` and
`resource/subresource` forms) and a scope, then namespace and object label selectors;
both describe the write with the same request attributes (CEL's `request`, the
AdmissionReview's `request`). They share these answers here, so the two cannot drift
apart, and read their configuration objects the same way: from the watch cache once it
has them, else from etcd.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from client.codec import to_dict
from client.kinds import Kind, Object, by_resource
from client.selectors import LabelSelector, from_proto
from master.apiserver.admission.caller import CALLER
from master.apiserver.etcd import Etcd
from master.apiserver.listing import list_objects
from master.apiserver.objects import decode_stored, object_key
from master.apiserver.selection import Selection
from master.apiserver.watchcache import WatchCache

__all__ = [
    "NAMESPACES",
    "Rule",
    "Stored",
    "Write",
    "labels_of",
    "object_dict",
    "request_attributes",
    "rule_matches",
    "selector_of",
    "selectors_match",
]

NAMESPACES = by_resource("namespaces")


@dataclass(frozen=True)
class Write:
    """One write as admission sees it."""

    kind: Kind
    operation: str
    """CREATE, UPDATE or DELETE."""
    namespace: str
    name: str
    obj: Object | None
    """None for a DELETE, whose object is the old one."""
    old: Object | None = None
    subresource: str = ""
    dry_run: bool = False


class Rule(Protocol):
    """A policy's NamedRuleWithOperations or a webhook's RuleWithOperations."""

    @property
    def operations(self) -> Iterable[str]: ...
    @property
    def api_groups(self) -> Iterable[str]: ...
    @property
    def api_versions(self) -> Iterable[str]: ...
    @property
    def resources(self) -> Iterable[str]: ...
    @property
    def scope(self) -> str: ...
    def HasField(self, name: str) -> bool: ...


def rule_matches(rule: Rule, w: Write, names: Iterable[str] = ()) -> bool:
    """Whether `rule` takes `w`; `names` are a policy rule's resourceNames (none: all)."""
    kind = w.kind
    if not _listed(rule.operations, w.operation):
        return False
    version = kind.api_version.rpartition("/")[2]
    if not _listed(rule.api_groups, kind.group) or not _listed(rule.api_versions, version):
        return False
    wanted = f"{kind.resource}/{w.subresource}" if w.subresource else kind.resource
    if not any(_resource_matches(r, wanted, bool(w.subresource)) for r in rule.resources):
        return False
    scope = rule.scope if rule.HasField("scope") else "*"
    if (scope == "Cluster" and kind.namespaced) or (scope == "Namespaced" and not kind.namespaced):
        return False
    listed = list(names)
    return not listed or w.name in listed


def _listed(values: Iterable[str], value: str) -> bool:
    listed = list(values)
    return "*" in listed or value in listed


def _resource_matches(pattern: str, wanted: str, is_sub: bool) -> bool:
    if pattern == "*/*" or pattern == wanted:
        return True
    if pattern == "*":
        return not is_sub
    base, _, sub = wanted.partition("/")
    if pattern == f"*/{sub}" and is_sub:
        return True
    return pattern == f"{base}/*" and is_sub


def labels_of(obj: Object | None) -> dict[str, str]:
    return dict(obj.metadata.labels) if obj is not None else {}


def selector_of(selector: Any) -> LabelSelector | None:
    """The selector, or None when it cannot be read (it then matches nothing)."""
    try:
        return from_proto(selector)
    except ValueError:
        return None


def selectors_match(owner: Any, w: Write, namespace_obj: Any | None) -> bool:
    """Whether `owner`'s namespaceSelector and objectSelector (where set) take `w`: the
    namespace's labels for a namespaced kind or a Namespace itself, the new or the old
    object's labels."""
    if owner.HasField("namespace_selector") and (w.kind.namespaced or w.kind == NAMESPACES):
        chosen = selector_of(owner.namespace_selector)
        if chosen is None or not chosen.matches(labels_of(namespace_obj)):
            return False
    if owner.HasField("object_selector"):
        chosen = selector_of(owner.object_selector)
        if chosen is None:
            return False
        if not (chosen.matches(labels_of(w.obj)) or chosen.matches(labels_of(w.old))):
            return False
    return True


def object_dict(obj: Object | None, kind: Kind) -> dict[str, Any] | None:
    """An object as a client would read it, with its apiVersion and kind."""
    if obj is None:
        return None
    found: dict[str, Any] = to_dict(obj)
    return {"apiVersion": kind.api_version, "kind": kind.kind, **found}


def request_attributes(w: Write) -> dict[str, Any]:
    """What Kubernetes tells admission of a request (CEL's `request`, a review's)."""
    user = CALLER.get()
    group_version = {"group": w.kind.group, "version": w.kind.api_version.rpartition("/")[2]}
    return {
        "kind": {**group_version, "kind": w.kind.kind},
        "resource": {**group_version, "resource": w.kind.resource},
        "subResource": w.subresource,
        "name": w.name,
        "namespace": w.namespace,
        "operation": w.operation,
        "userInfo": {
            "username": user.name if user else "",
            "uid": user.uid if user else "",
            "groups": list(user.groups) if user else [],
        },
        "dryRun": w.dry_run,
    }


class Stored:
    """Reads of admission's configuration objects: the watch cache's once it has the
    kind, else etcd's."""

    def __init__(self, etcd: Etcd, cache: WatchCache | None = None) -> None:
        self.etcd = etcd
        self.cache = cache

    async def all(self, kind: Kind, namespace: str = "") -> list[Any]:
        cacher = self.cache.ready_now(kind) if self.cache is not None else None
        if cacher is not None:
            found = list(cacher.store.values())
            return [o for o in found if not namespace or o.metadata.namespace == namespace]
        page = await list_objects(self.etcd, kind, namespace, Selection())
        return list(page.items)

    async def get(self, kind: Kind, namespace: str, name: str) -> Any | None:
        """One object (shared with the cache: read it, never change it). A webhook's
        Service and Endpoints and a write's Namespace are read on every admitted write, as
        kube-apiserver reads them from its informers, a moment behind at most."""
        key = object_key(kind, namespace, name)
        cacher = self.cache.ready_now(kind) if self.cache is not None else None
        if cacher is not None:
            return cacher.store.get(key)
        kv, _ = await self.etcd.get(key)
        return None if kv is None else decode_stored(kind, kv.value, kv.mod_revision)

    async def namespace_of(self, w: Write) -> Any | None:
        """The Namespace a selector reads for `w` (the object itself for a Namespace)."""
        if w.kind == NAMESPACES:
            return w.obj if w.obj is not None else w.old
        if w.kind.namespaced and w.namespace:
            return await self.get(NAMESPACES, "", w.namespace)
        return None

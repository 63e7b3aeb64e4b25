"""RBAC: the four kinds held in memory, and the authorizer that reads them.

`PolicyIndex` keeps every Role, ClusterRole, RoleBinding and ClusterRoleBinding, indexed
by subject (a user name or a group), so answering a request looks only at the bindings
that name this user or one of its groups rather than at every binding. The rules a user
has in a namespace are memoised until the next change of any RBAC object: a busy client
asks the same question thousands of times between two policy changes.

Semantics are Kubernetes': a ClusterRoleBinding grants its ClusterRole everywhere; a
RoleBinding grants its Role, or a ClusterRole, in its own namespace only; a
ServiceAccount subject without a namespace means the binding's namespace; a ClusterRole
with an aggregationRule also holds the rules of every ClusterRole its selectors match.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from client.selectors import from_proto
from master.apiserver.auth import rules as rbac_rules
from master.apiserver.auth.attributes import NO_OPINION, Attributes, Decision
from master.apiserver.auth.user import UserInfo, service_account_user
from proto import rbac_pb2

__all__ = ["PolicyIndex", "RbacAuthorizer"]

_Key = tuple[str, str]
"""(namespace, name); namespace "" for cluster-scoped kinds."""


def _subject_keys(subject: rbac_pb2.Subject, namespace: str) -> str | None:
    """How the index files a subject: "u:<user>" or "g:<group>"."""
    if subject.kind == "User":
        return f"u:{subject.name}"
    if subject.kind == "Group":
        return f"g:{subject.name}"
    if subject.kind == "ServiceAccount":
        ns = subject.namespace or namespace
        return f"u:{service_account_user(ns, subject.name)}" if ns else None
    return None


class PolicyIndex:
    """Every RBAC object, kept current by whoever feeds it (`put`, `remove`)."""

    def __init__(self) -> None:
        self.roles: dict[_Key, rbac_pb2.Role] = {}
        self.cluster_roles: dict[str, rbac_pb2.ClusterRole] = {}
        self._bindings: dict[_Key, Any] = {}
        """RoleBindings by (namespace, name), ClusterRoleBindings by ("", name)."""
        self._by_subject: dict[str, set[_Key]] = {}
        self._memo: dict[tuple[str, tuple[str, ...], str], tuple[rbac_pb2.PolicyRule, ...]] = {}

    # -- feeding -----------------------------------------------------------------------

    def put(self, obj: Any) -> None:
        """Add or replace an RBAC object."""
        meta = obj.metadata
        kind = obj.DESCRIPTOR.name
        if kind == "Role":
            self.roles[(meta.namespace, meta.name)] = obj
        elif kind == "ClusterRole":
            self.cluster_roles[meta.name] = obj
        elif kind in ("RoleBinding", "ClusterRoleBinding"):
            key = (meta.namespace if kind == "RoleBinding" else "", meta.name)
            self._unindex(key)
            self._bindings[key] = obj
            for subject in obj.subjects:
                filed = _subject_keys(subject, key[0])
                if filed is not None:
                    self._by_subject.setdefault(filed, set()).add(key)
        else:
            raise TypeError(f"{kind} is not an RBAC kind")
        self._memo.clear()

    def remove(self, kind: str, namespace: str, name: str) -> None:
        """Forget an RBAC object (no error when it is unknown)."""
        if kind == "Role":
            self.roles.pop((namespace, name), None)
        elif kind == "ClusterRole":
            self.cluster_roles.pop(name, None)
        else:
            key = (namespace if kind == "RoleBinding" else "", name)
            self._unindex(key)
            self._bindings.pop(key, None)
        self._memo.clear()

    def clear(self) -> None:
        """Forget everything (before a re-list)."""
        self.roles.clear()
        self.cluster_roles.clear()
        self._bindings.clear()
        self._by_subject.clear()
        self._memo.clear()

    def _unindex(self, key: _Key) -> None:
        old = self._bindings.get(key)
        if old is None:
            return
        for subject in old.subjects:
            filed = _subject_keys(subject, key[0])
            if filed is not None:
                keys = self._by_subject.get(filed)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._by_subject[filed]

    # -- reading -----------------------------------------------------------------------

    def cluster_role_rules(self, name: str) -> list[rbac_pb2.PolicyRule]:
        """A ClusterRole's rules, aggregated ones included; empty when it does not exist."""
        out: list[rbac_pb2.PolicyRule] = []
        seen: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            role = self.cluster_roles.get(current)
            if role is None:
                continue
            out.extend(role.rules)
            selectors = [from_proto(s) for s in role.aggregation_rule.cluster_role_selectors]
            if selectors:
                for other in self.cluster_roles.values():
                    labels = other.metadata.labels
                    fresh = other.metadata.name not in seen
                    if fresh and any(s.matches(labels) for s in selectors):
                        todo.append(other.metadata.name)
        return out

    def _ref_rules(self, ref: rbac_pb2.RoleRef, namespace: str) -> Iterable[rbac_pb2.PolicyRule]:
        if ref.kind == "ClusterRole":
            return self.cluster_role_rules(ref.name)
        if ref.kind == "Role" and namespace:
            role = self.roles.get((namespace, ref.name))
            return role.rules if role is not None else ()
        return ()

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[rbac_pb2.PolicyRule, ...]:
        """Every rule granted to `user` in `namespace` ("": cluster-wide rules only)."""
        memo_key = (user.name, user.groups, namespace)
        found = self._memo.get(memo_key)
        if found is not None:
            return found
        keys: set[_Key] = set(self._by_subject.get(f"u:{user.name}", ()))
        for group in user.groups:
            keys |= self._by_subject.get(f"g:{group}", set())
        rules: list[rbac_pb2.PolicyRule] = []
        for key in sorted(keys):
            if key[0] and key[0] != namespace:
                continue  # a RoleBinding of another namespace
            binding = self._bindings[key]
            rules.extend(self._ref_rules(binding.role_ref, key[0]))
        result = tuple(rules)
        if len(self._memo) > 10_000:
            self._memo.clear()
        self._memo[memo_key] = result
        return result

    def binding_names(self, user: UserInfo, namespace: str) -> list[str]:
        """The bindings that apply to `user` in `namespace` (for `describe`-style answers)."""
        keys: set[_Key] = set(self._by_subject.get(f"u:{user.name}", ()))
        for group in user.groups:
            keys |= self._by_subject.get(f"g:{group}", set())
        return sorted(
            (f"RoleBinding {k[0]}/{k[1]}" if k[0] else f"ClusterRoleBinding {k[1]}")
            for k in keys
            if not k[0] or k[0] == namespace
        )


class RbacAuthorizer:
    """Allows a request when some binding of the user grants it; otherwise no opinion
    (the chain's end turns that into a denial)."""

    def __init__(self, index: PolicyIndex) -> None:
        self.index = index

    def authorize(self, a: Attributes) -> Decision:
        for rule in self.index.rules_for(a.user, a.namespace if a.is_resource_request else ""):
            if rbac_rules.allows(rule, a):
                return Decision(True, "RBAC")
        return NO_OPINION

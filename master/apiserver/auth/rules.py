"""RBAC's rule semantics: when one PolicyRule grants a request, and when a set of rules
covers another (the escalation check).

As Kubernetes: `*` matches every verb, group, resource or path; a resource `*/scale`
matches that subresource of every resource, `pods/*` every subresource of pods; empty
resourceNames match every name; a non-resource URL ending in `*` matches by prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from master.apiserver.auth.attributes import Attributes
from proto import rbac_pb2

__all__ = ["allows", "uncovered"]

ALL = "*"


def _verb(rule: rbac_pb2.PolicyRule, verb: str) -> bool:
    return ALL in rule.verbs or verb in rule.verbs


def _group(rule: rbac_pb2.PolicyRule, group: str) -> bool:
    return ALL in rule.api_groups or group in rule.api_groups


def _resource(rule: rbac_pb2.PolicyRule, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in rule.resources:
        if r == ALL or r == combined:
            return True
        if subresource and (r == f"*/{subresource}" or r == f"{resource}/*"):
            return True
    return False


def _name(rule: rbac_pb2.PolicyRule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def _path(rule: rbac_pb2.PolicyRule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url == ALL or url == path:
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def allows(rule: rbac_pb2.PolicyRule, a: Attributes) -> bool:
    """Whether `rule` grants the request `a`."""
    if not _verb(rule, a.verb):
        return False
    if not a.is_resource_request:
        return _path(rule, a.path)
    return (
        _group(rule, a.api_group)
        and _resource(rule, a.resource, a.subresource)
        and _name(rule, a.name)
    )


def _atoms(rule: rbac_pb2.PolicyRule) -> Iterable[tuple[str, ...]]:
    """The rule broken into single grants; a `*` stays a literal `*` that only a `*` covers."""
    if rule.non_resource_urls:
        for verb in rule.verbs:
            for url in rule.non_resource_urls:
                yield ("url", verb, url)
    for verb in rule.verbs:
        for group in rule.api_groups:
            for resource in rule.resources:
                for name in rule.resource_names or [""]:
                    yield ("res", verb, group, resource, name)


def _covered(owner: rbac_pb2.PolicyRule, atom: tuple[str, ...]) -> bool:
    if atom[0] == "url":
        _, verb, url = atom
        if not _verb(owner, verb):
            return False
        return any(
            u == ALL or u == url or (u.endswith("*") and url.startswith(u[:-1]))
            for u in owner.non_resource_urls
        )
    _, verb, group, resource, name = atom
    if not _verb(owner, verb) or not _group(owner, group):
        return False
    if resource == ALL:
        if ALL not in owner.resources:
            return False
    else:
        base, _, sub = resource.partition("/")
        if sub == ALL:
            if not (ALL in owner.resources or resource in owner.resources):
                return False
        elif not _resource(owner, base, sub):
            return False
    if not name:
        return not owner.resource_names
    return _name(owner, name)


def uncovered(
    owned: Sequence[rbac_pb2.PolicyRule], wanted: Iterable[rbac_pb2.PolicyRule]
) -> list[str]:
    """The grants of `wanted` that no rule of `owned` gives, spelled for an error message.

    Empty when the owner of `owned` may grant `wanted` to someone else (Kubernetes'
    privilege-escalation check for creating roles and bindings).
    """
    missing: list[str] = []
    for rule in wanted:
        for atom in _atoms(rule):
            if not any(_covered(o, atom) for o in owned):
                if atom[0] == "url":
                    missing.append(f"{atom[1]} {atom[2]}")
                else:
                    _, verb, group, resource, name = atom
                    qualified = f"{resource}.{group}" if group and group != ALL else resource
                    if group == ALL:
                        qualified = f"{resource}.*"
                    missing.append(f"{verb} {qualified}" + (f' "{name}"' if name else ""))
    return missing

"""ResourceQuota usage: what an object adds to its namespace's usage, and whether that
stays within every quota's hard limits. The API server's admission checks a create with
it, and the controller manager's quota controller recounts `status.used` with it (after
deletions, which admission never sees), so both count alike.

Usage is counted the way Kubernetes' quota evaluators count it: pods that are not
finished (phase neither Succeeded nor Failed, not being deleted) add their containers'
requests and limits, and their RuntimeClass's overhead on top (`cpu` and `memory` are
requests, as `requests.cpu`); every object
counts once towards `count/<resource>[.<group>]`, and pods, services, configmaps, secrets,
resourcequotas and persistentvolumeclaims also under their short names. Claims add their
storage request to `requests.storage`; Services count in `services.loadbalancers` and, one
per port, in `services.nodeports`. A container without a request for a
resource the quota limits is refused, as Kubernetes refuses it: `must specify cpu`.

A quota with `scopes` counts only the pods its scopes match, as Kubernetes' scopes do:
Terminating (the pod sets activeDeadlineSeconds) or NotTerminating, BestEffort (no
container requests or limits cpu or memory) or NotBestEffort. Such a quota tracks pods
only; BestEffort tracks their count only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from client.kinds import Kind, UnknownKindError, by_resource
from client.quantity import format_quantity, parse_quantity
from client.sidecars import sidecars

_SHORT = ("pods", "services", "configmaps", "secrets", "resourcequotas", "persistentvolumeclaims")
_REQUESTS = {"cpu": "cpu", "memory": "memory", "requests.cpu": "cpu",
             "requests.memory": "memory"}  # fmt: skip
_LIMITS = {"limits.cpu": "cpu", "limits.memory": "memory"}

Usage = dict[str, Fraction]


def _claim_storage(claim: Any) -> Fraction:
    text = claim.spec.resources.requests.get("storage")
    return parse_quantity(text) if text else Fraction(0)


def _load_balancers(service: Any) -> Fraction:
    return Fraction(1 if service.spec.type == "LoadBalancer" else 0)


def _node_ports(service: Any) -> Fraction:
    exposed = service.spec.type in ("NodePort", "LoadBalancer")
    return Fraction(len(service.spec.ports) if exposed else 0)


OBJECT_AMOUNTS: dict[str, tuple[str, Callable[[Any], Fraction]]] = {
    "requests.storage": ("persistentvolumeclaims", _claim_storage),
    "services.loadbalancers": ("services", _load_balancers),
    "services.nodeports": ("services", _node_ports),
}
"""Quota names that other kinds than pods fill with an amount of their own, as
Kubernetes' claim and service evaluators count them: the storage claims request, the
LoadBalancer Services, and the ports of NodePort and LoadBalancer Services."""

SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort")
SELECTOR_SCOPES = (*SCOPES, "PriorityClass", "CrossNamespacePodAffinity")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
SCOPE_CONFLICTS = (("Terminating", "NotTerminating"), ("BestEffort", "NotBestEffort"))
SCOPED_RESOURCES = ("pods", "count/pods", *_REQUESTS, *_LIMITS)
"""What a quota with scopes may limit; one with BestEffort only the first two."""


def best_effort(pod: Any) -> bool:
    """Kubernetes' BestEffort QoS: no container requests or limits cpu or memory."""
    return not any(
        resource in getattr(c.resources, source)
        for c in [*pod.spec.init_containers, *pod.spec.containers]
        for source in ("requests", "limits")
        for resource in ("cpu", "memory")
    )


def _scope_matches(scope: str, pod: Any) -> bool:
    terminating = bool(pod.spec.HasField("active_deadline_seconds"))
    return {
        "Terminating": terminating,
        "NotTerminating": not terminating,
        "BestEffort": best_effort(pod),
        "NotBestEffort": not best_effort(pod),
    }.get(scope, False)


def _cross_namespace(pod: Any) -> bool:
    """Whether an affinity term of the pod looks beyond its own namespace."""
    affinity = pod.spec.affinity
    terms = [
        *affinity.pod_affinity.required_during_scheduling_ignored_during_execution,
        *affinity.pod_anti_affinity.required_during_scheduling_ignored_during_execution,
        *(w.pod_affinity_term for w in
          affinity.pod_affinity.preferred_during_scheduling_ignored_during_execution),
        *(w.pod_affinity_term for w in
          affinity.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution),
    ]  # fmt: skip
    return any(t.namespaces or t.HasField("namespace_selector") for t in terms)


def _requirement_matches(requirement: Any, pod: Any) -> bool:
    """One scopeSelector requirement. PriorityClass compares the pod's priorityClassName
    (none: absent) with the values; the other scopes only exist or do not."""
    op, values = requirement.operator, set(requirement.values)
    if requirement.scope_name == "PriorityClass":
        name = pod.spec.priority_class_name
        return {
            "In": name in values,
            "NotIn": name not in values,
            "Exists": bool(name),
            "DoesNotExist": not name,
        }.get(op, False)
    if requirement.scope_name == "CrossNamespacePodAffinity":
        present = _cross_namespace(pod)
    else:
        present = _scope_matches(requirement.scope_name, pod)
    return present if op == "Exists" else (not present if op == "DoesNotExist" else False)


def in_scope(quota: Any, kind: Kind, obj: Any) -> bool:
    """Whether `obj` counts against `quota` at all: every one of its scopes matches, and
    every requirement of its scopeSelector."""
    requirements = list(quota.spec.scope_selector.match_expressions)
    if not quota.spec.scopes and not requirements:
        return True
    if kind.resource != "pods" or kind.group:
        return False
    return all(_scope_matches(scope, obj) for scope in quota.spec.scopes) and all(
        _requirement_matches(r, obj) for r in requirements
    )


def count_names(kind: Kind) -> list[str]:
    """The quota names under which one object of `kind` counts."""
    names = [f"count/{kind.resource}" + (f".{kind.group}" if kind.group else "")]
    if kind.resource in _SHORT and not kind.group:
        names.append(kind.resource)
    return names


def counts_pod(pod: Any) -> bool:
    """Whether a pod holds its resources (not finished, not being deleted)."""
    return pod.status.phase not in ("Succeeded", "Failed") and not pod.metadata.deletion_timestamp


def _sum(containers: Iterable[Any], source: str, resource: str) -> Fraction | None:
    """The containers' total of one request or limit; None if one of them lacks it."""
    total = Fraction(0)
    for c in containers:
        text = getattr(c.resources, source).get(resource)
        if text is None:
            return None
        total += parse_quantity(text)
    return total


def _overhead(pod: Any, resource: str) -> Fraction:
    """What the pod's sandbox costs besides its containers (its RuntimeClass's overhead).
    Kubernetes' PodRequests and PodLimits add it; a limit gets it only when the containers
    limit the resource at all, which is the only case counted here."""
    text = pod.spec.overhead.get(resource)
    return parse_quantity(text) if text else Fraction(0)


def usage_of(kind: Kind, obj: Any, names: Iterable[str]) -> tuple[Usage, list[str]]:
    """What one object adds to each of `names`, and the names it cannot be counted for
    (a pod with no request or limit for a quota'd resource)."""
    adds: Usage = {}
    missing: list[str] = []
    counted = count_names(kind)
    for name in names:
        if name in counted:
            adds[name] = Fraction(1)
        elif name in OBJECT_AMOUNTS and OBJECT_AMOUNTS[name][0] == kind.resource:
            adds[name] = OBJECT_AMOUNTS[name][1](obj)
        elif kind.resource == "pods" and (name in _REQUESTS or name in _LIMITS):
            if not counts_pod(obj):
                continue
            source = "requests" if name in _REQUESTS else "limits"
            resource = _REQUESTS.get(name) or _LIMITS[name]
            # Sidecars run beside the app containers, so they count with them.
            total = _sum([*obj.spec.containers, *sidecars(obj.spec)], source, resource)
            if total is None:
                missing.append(name)
            else:
                adds[name] = total + _overhead(obj, resource)
    return adds, missing


def kinds_for(names: Iterable[str]) -> list[Kind]:
    """The kinds whose objects count towards any of `names` (unknown kinds: none)."""
    found: dict[str, Kind] = {}
    for name in names:
        if name in _REQUESTS or name in _LIMITS:
            resource = "pods"
        elif name in OBJECT_AMOUNTS:
            resource = OBJECT_AMOUNTS[name][0]
        elif name.startswith("count/"):
            resource = name.removeprefix("count/").split(".", 1)[0]
        elif name in _SHORT:
            resource = name
        else:
            continue
        try:
            found[resource] = by_resource(resource)
        except UnknownKindError:
            continue
    return list(found.values())


def touches(kind: Kind, quota: Any) -> bool:
    """Whether objects of `kind` count against the quota at all."""
    names = set(quota.spec.hard)
    if names & set(count_names(kind)):
        return True
    if any(OBJECT_AMOUNTS[n][0] == kind.resource for n in names & set(OBJECT_AMOUNTS)):
        return True
    return kind.resource == "pods" and bool(names & (set(_REQUESTS) | set(_LIMITS)))


def total(kind: Kind, objects: Iterable[Any], names: Iterable[str]) -> Usage:
    """The namespace's current usage of `names` by objects of `kind`."""
    names = list(names)
    used: Usage = {name: Fraction(0) for name in names}
    for obj in objects:
        adds, _ = usage_of(kind, obj, names)
        for name, value in adds.items():
            used[name] += value
    return used


def show(name: str, value: Fraction) -> str:
    return format_quantity(value, binary=name.endswith(("memory", "storage")))


def exceeded(quota: Any, used: Mapping[str, Fraction], adds: Mapping[str, Fraction]) -> str:
    """Kubernetes' refusal when `adds` takes the quota over a hard limit, else ""."""
    hard = {name: parse_quantity(text) for name, text in quota.spec.hard.items()}
    over = sorted(n for n, v in adds.items() if n in hard and used.get(n, 0) + v > hard[n])
    if not over:
        return ""

    def listed(values: Mapping[str, Any]) -> str:
        return ",".join(f"{n}={v}" for n, v in ((n, values[n]) for n in over))

    return (
        f"exceeded quota: {quota.metadata.name}, "
        f"requested: {listed({n: show(n, adds[n]) for n in over})}, "
        f"used: {listed({n: show(n, used.get(n, Fraction(0))) for n in over})}, "
        f"limited: {listed({n: quota.spec.hard[n] for n in over})}"
    )

"""`/version` and API discovery, generated from the kind registry (client/kinds.py).

kubectl learns what a server serves from discovery before anything else: the groups and
versions, then each version's resources with their verbs, short names, categories and
subresources. Both of Kubernetes' formats are served from the same description: the
legacy one (`/api`, `/apis`, an `APIResourceList` per group-version) and the aggregated
one (`APIGroupDiscoveryList`, one request for everything), chosen by the Accept header as
kube-apiserver chooses it. A kind added to the registry is discovered with no edit here.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from client.customkinds import CustomKind
from client.kinds import COMPONENT_STATUSES, KINDS, Kind, dynamic_kinds
from client.metricsapi import NODE_METRICS, POD_METRICS
from client.scale import is_scalable
from master.apiserver.strategies import strategy_for
from proto import autoscaling_pb2

GIT_VERSION = "v1.32.0-tugboat.1"
"""A Kubernetes-shaped version: kubectl compares its own minor version with it."""

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
"""The media type of aggregated discovery (the response says it chose this one)."""

CATEGORY_ALL = frozenset(
    {
        "pods",
        "services",
        "deployments",
        "replicasets",
        "replicationcontrollers",
        "daemonsets",
        "statefulsets",
        "horizontalpodautoscalers",
        "jobs",
        "cronjobs",
    }
)
"""What `kubectl get all` lists: Kubernetes' `all` category, for the kinds Tugboat serves."""

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
READ_ONLY = (COMPONENT_STATUSES, NODE_METRICS, POD_METRICS)
"""Kinds served from elsewhere than the store (ComponentStatuses, probed by
componentstatus.py; metrics.k8s.io, built from the kubelets' stats by
rest/resourcemetrics.py): discovered with get and list only."""
SUBRESOURCE_VERBS = ["get", "patch", "update"]
HPA_V1 = Kind(
    "HorizontalPodAutoscaler",
    "autoscaling/v1",
    "horizontalpodautoscalers",
    autoscaling_pb2.HorizontalPodAutoscalerV1,
    True,
    ("hpa",),
)
"""autoscaling/v1's view of the stored v2 HPAs (rest/autoscalingv1.py): discovered after
v2, so v2 stays the preferred version, with its own OpenAPI schema, so that old
manifests and charts written for v1 apply."""
VIEWS = (HPA_V1,)
VIEW_VERBS = ["create", "delete", "get", "list", "patch", "update"]


@dataclass(frozen=True)
class Subresource:
    """A subresource of a kind: its name and the kind its requests and answers carry."""

    name: str
    group: str
    version: str
    kind: str
    verbs: tuple[str, ...]


def version_info() -> dict[str, str]:
    """The body of `/version`."""
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": f"python{platform.python_version()}",
        "compiler": platform.python_implementation().lower(),
        "platform": f"{platform.system().lower()}/{platform.machine()}",
    }


def group_version(kind: Kind) -> tuple[str, str]:
    """(group, version) of a kind: ("", "v1"), ("apps", "v1")."""
    group, _, version = kind.api_version.rpartition("/")
    return group, version


def _served() -> list[Kind]:
    """Every kind, custom ones (CRDs) once per served version, after the built-in ones."""
    custom = [
        k.at_version(v)
        for k in dynamic_kinds()
        if isinstance(k, CustomKind)
        for v in k.served_versions()
    ]
    return [*KINDS, *READ_ONLY, *VIEWS, *custom]


def kinds_of(group: str, version: str) -> list[Kind]:
    """The kinds served in one group-version."""
    return [k for k in _served() if group_version(k) == (group, version)]


def group_versions() -> list[tuple[str, str]]:
    """Every served (group, version), core first, in registry order."""
    seen: list[tuple[str, str]] = []
    for k in _served():
        gv = group_version(k)
        if gv not in seen:
            seen.append(gv)
    return seen


def subresources(kind: Kind) -> list[Subresource]:
    """The subresources served for a kind."""
    group, version = group_version(kind)
    found: list[Subresource] = []
    if kind in READ_ONLY or kind in VIEWS:
        return found
    if kind.has_status:
        found.append(Subresource("status", group, version, kind.kind, tuple(SUBRESOURCE_VERBS)))
    if kind.resource == "pods":
        found.append(Subresource("log", group, version, "Pod", ("get",)))
        found.append(Subresource("exec", group, version, "PodExecOptions", ("create", "get")))
        found.append(Subresource("attach", group, version, "PodAttachOptions", ("create", "get")))
        found.append(Subresource("eviction", "policy", "v1", "Eviction", ("create",)))
        found.append(
            Subresource("portforward", group, version, "PodPortForwardOptions", ("create", "get"))
        )
    for part in strategy_for(kind).subresources:
        found.append(Subresource(part, group, version, kind.kind, tuple(SUBRESOURCE_VERBS)))
    if kind.resource == "serviceaccounts":
        found.append(
            Subresource("token", "authentication.k8s.io", "v1", "TokenRequest", ("create",))
        )
    if is_scalable(kind) or (isinstance(kind, CustomKind) and kind.version(version).scale):
        found.append(Subresource("scale", "autoscaling", "v1", "Scale", tuple(SUBRESOURCE_VERBS)))
    return found


def _verbs(kind: Kind) -> list[str]:
    if kind in READ_ONLY:
        return ["get", "list"]
    return VIEW_VERBS if kind in VIEWS else VERBS


def _aliases(kind: Kind) -> dict[str, list[str]]:
    """The shortNames and categories a kind answers to, left out when it has none: both
    discovery documents end a resource's entry with them."""
    aliases: dict[str, list[str]] = {}
    if kind.short_names:
        aliases["shortNames"] = list(kind.short_names)
    if kind.resource in CATEGORY_ALL and kind not in READ_ONLY and kind not in VIEWS:
        aliases["categories"] = ["all"]
    if isinstance(kind, CustomKind) and kind.categories:
        aliases["categories"] = list(kind.categories)
    return aliases


def api_versions(address: str) -> dict[str, Any]:
    """`/api`: the core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def api_group_list() -> dict[str, Any]:
    """`/apis`: every named group with its versions."""
    groups: list[dict[str, Any]] = []
    for group, version in group_versions():
        if not group:
            continue
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        same = [g for g in groups if g["name"] == group]
        if same:  # a CRD serving several versions: one group, listing each
            same[0]["versions"].append(gv)
            continue
        groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """`/api/v1` or `/apis/<group>/<version>`: an APIResourceList; None if not served."""
    kinds = kinds_of(group, version)
    if not kinds:
        return None
    resources: list[dict[str, Any]] = []
    for k in kinds:
        entry: dict[str, Any] = {
            "name": k.resource,
            "singularName": k.singular,
            "namespaced": k.namespaced,
            "kind": k.kind,
            "verbs": _verbs(k),
        }
        entry.update(_aliases(k))
        resources.append(entry)
        for sub in subresources(k):
            sub_entry: dict[str, Any] = {
                "name": f"{k.resource}/{sub.name}",
                "singularName": "",
                "namespaced": k.namespaced,
                "kind": sub.kind,
                "verbs": list(sub.verbs),
            }
            if sub.group != group:
                sub_entry["group"], sub_entry["version"] = sub.group, sub.version
            resources.append(sub_entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _aggregated_resource(k: Kind) -> dict[str, Any]:
    group, version = group_version(k)
    entry: dict[str, Any] = {
        "resource": k.resource,
        "responseKind": {"group": group, "version": version, "kind": k.kind},
        "scope": "Namespaced" if k.namespaced else "Cluster",
        "singularResource": k.singular,
        "verbs": _verbs(k),
    }
    entry.update(_aliases(k))
    subs = [
        {
            "subresource": s.name,
            "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
            "verbs": list(s.verbs),
        }
        for s in subresources(k)
    ]
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(core: bool) -> dict[str, Any]:
    """`/api` (core) or `/apis` (named groups) as one APIGroupDiscoveryList."""
    items: list[dict[str, Any]] = []
    for group, version in group_versions():
        if bool(group) == core:
            continue
        entry = {
            "version": version,
            "resources": [_aggregated_resource(k) for k in kinds_of(group, version)],
            "freshness": "Current",
        }
        same = [i for i in items if i["metadata"]["name"] == group]
        if same:  # a CRD serving several versions: one group, listing each
            same[0]["versions"].append(entry)
            continue
        items.append({"metadata": {"name": group}, "versions": [entry]})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def wants_aggregated(accept: Iterable[str]) -> bool:
    """Whether the Accept header asks for aggregated discovery (v2) before plain JSON."""
    for media in ",".join(accept).split(","):
        params = {p.strip() for p in media.split(";")[1:]}
        if "as=APIGroupDiscoveryList" in params:
            return "v=v2" in params and "g=apidiscovery.k8s.io" in params
        if media.split(";")[0].strip() in ("application/json", "*/*"):
            return False
    return False

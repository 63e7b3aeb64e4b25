"""What classification and dispatch need to know, as plain frozen dataclasses.

The API objects (FlowSchema, PriorityLevelConfiguration) carry metadata, status and
union fields that matter to storage and validation but not to deciding where a request
goes; the API server converts them into these, so the dispatcher neither imports
protobuf nor can change a configuration it was given. Field meanings follow
flowcontrol.apiserver.k8s.io/v1, and the mandatory `exempt` and `catch-all` objects that
kube-apiserver imagines when they are missing are defined here, because dispatch
depends on them existing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ALL = "*"
"""The wildcard of names, verbs, groups, resources, namespaces and non-resource URLs."""

EXEMPT = "exempt"
CATCH_ALL = "catch-all"

Distinguisher = Literal["ByUser", "ByNamespace"] | None


@dataclass(frozen=True)
class UserSubject:
    """A user by name; "*" for every user."""

    name: str


@dataclass(frozen=True)
class GroupSubject:
    """Members of a group; "*" for every group (so every request)."""

    name: str


@dataclass(frozen=True)
class ServiceAccountSubject:
    """A ServiceAccount, matched as the user `system:serviceaccount:<namespace>:<name>`;
    name "*" for every ServiceAccount of the namespace."""

    namespace: str
    name: str


Subject = UserSubject | GroupSubject | ServiceAccountSubject


@dataclass(frozen=True)
class ResourceRule:
    """Which resource requests a rule covers; a list holding only "*" covers all."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    """Resource names, or "resource/subresource" ("pods/log") for a subresource."""
    cluster_scope: bool = False
    """Whether requests with no namespace (cluster-scoped objects, all-namespace lists)
    are covered."""
    namespaces: tuple[str, ...] = ()
    """Namespaces of namespaced requests covered; ("*",) for all."""


@dataclass(frozen=True)
class NonResourceRule:
    """Which non-resource requests (/healthz, /version) a rule covers."""

    verbs: tuple[str, ...]
    non_resource_urls: tuple[str, ...]
    """Exact paths, "*" for all, or "/prefix/*" for everything below /prefix."""


@dataclass(frozen=True)
class PolicyRule:
    """Matches when a subject matches and one of the rules of the request's kind does."""

    subjects: tuple[Subject, ...]
    resource_rules: tuple[ResourceRule, ...] = ()
    non_resource_rules: tuple[NonResourceRule, ...] = ()


@dataclass(frozen=True)
class FlowSchema:
    name: str
    priority_level: str
    """The name of the PriorityLevel its requests go to."""
    matching_precedence: int = 1000
    """Lower is tried first; ties are broken by name."""
    distinguisher: Distinguisher = None
    """How its requests are split into flows: by user, by namespace, or one flow."""
    rules: tuple[PolicyRule, ...] = ()
    uid: str = ""


@dataclass(frozen=True)
class Queuing:
    """The Queue limit response: requests beyond the limit wait in queues."""

    queues: int = 64
    hand_size: int = 8
    """How many queues each flow is dealt; it joins the shortest of them."""
    queue_length_limit: int = 50


@dataclass(frozen=True)
class PriorityLevel:
    name: str
    exempt: bool = False
    """Never limited (only the level named "exempt" may be, as in Kubernetes)."""
    nominal_concurrency_shares: int = 30
    lendable_percent: int = 0
    """How much of its nominal seats other levels may borrow while it does not need them."""
    borrowing_limit_percent: int | None = None
    """How many seats beyond its nominal ones it may borrow, as a percentage of them;
    None: no limit beyond the server's."""
    queuing: Queuing | None = None
    """For a Limited level: how requests beyond the limit wait; None rejects them at once."""
    uid: str = ""


@dataclass(frozen=True)
class RequestDigest:
    """What classification needs of a request and its user."""

    user: str
    groups: tuple[str, ...] = ()
    verb: str = "get"
    """The request verb (get, list, watch, create, update, patch, delete,
    deletecollection); for non-resource requests the lower-case HTTP method."""
    is_resource_request: bool = True
    api_group: str = ""
    api_version: str = ""
    """The version of a resource request's path ("v1"); only the debug dump reads it."""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""
    long_running: bool = False
    """Watches and pod streams (log, exec, attach, portforward). A watch holds a seat
    only until its initial events are sent (`Admission.release_seat`); the pod streams
    are classified but hold no seat. Neither keeps one for its whole life, or a handful
    of them would occupy a level forever."""


_EVERYTHING: tuple[ResourceRule, ...] = (
    ResourceRule(
        verbs=(ALL,), api_groups=(ALL,), resources=(ALL,), cluster_scope=True, namespaces=(ALL,)
    ),
)
_ALL_PATHS = (NonResourceRule(verbs=(ALL,), non_resource_urls=(ALL,)),)

MANDATORY_EXEMPT_LEVEL = PriorityLevel(
    name=EXEMPT, exempt=True, nominal_concurrency_shares=0, lendable_percent=0
)
MANDATORY_CATCH_ALL_LEVEL = PriorityLevel(
    name=CATCH_ALL, nominal_concurrency_shares=5, lendable_percent=0, queuing=None
)
MANDATORY_EXEMPT_SCHEMA = FlowSchema(
    name=EXEMPT,
    priority_level=EXEMPT,
    matching_precedence=1,
    rules=(PolicyRule((GroupSubject("system:masters"),), _EVERYTHING, _ALL_PATHS),),
)
MANDATORY_CATCH_ALL_SCHEMA = FlowSchema(
    name=CATCH_ALL,
    priority_level=CATCH_ALL,
    matching_precedence=10000,
    distinguisher="ByUser",
    rules=(
        PolicyRule(
            (GroupSubject("system:unauthenticated"), GroupSubject("system:authenticated")),
            _EVERYTHING,
            _ALL_PATHS,
        ),
    ),
)
"""The mandatory objects kube-apiserver uses in place of missing ones (no uid: they were
never stored)."""

__all__ = [
    "ALL",
    "CATCH_ALL",
    "EXEMPT",
    "MANDATORY_CATCH_ALL_LEVEL",
    "MANDATORY_CATCH_ALL_SCHEMA",
    "MANDATORY_EXEMPT_LEVEL",
    "MANDATORY_EXEMPT_SCHEMA",
    "Distinguisher",
    "FlowSchema",
    "GroupSubject",
    "NonResourceRule",
    "PolicyRule",
    "PriorityLevel",
    "Queuing",
    "RequestDigest",
    "ResourceRule",
    "ServiceAccountSubject",
    "Subject",
    "UserSubject",
]

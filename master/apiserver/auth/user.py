"""The authenticated user of a request, and the well-known names Kubernetes gives users.

Groups drive most decisions: `system:masters` passes every check, `system:nodes` marks
a kubelet (whose user name `system:node:<name>` says which node), and a ServiceAccount
`ns/name` is the user `system:serviceaccount:ns:name` in the groups
`system:serviceaccounts` and `system:serviceaccounts:ns`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ANONYMOUS",
    "AUTHENTICATED",
    "MASTERS",
    "NODES",
    "NODE_PREFIX",
    "SERVICE_ACCOUNTS",
    "SERVICE_ACCOUNT_PREFIX",
    "UNAUTHENTICATED",
    "UserInfo",
    "node_name",
    "service_account",
    "service_account_user",
]

AUTHENTICATED = "system:authenticated"
MASTERS = "system:masters"
"""Kubernetes' superuser group: every request of a member is allowed."""
NODES = "system:nodes"
NODE_PREFIX = "system:node:"
SERVICE_ACCOUNTS = "system:serviceaccounts"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
ANONYMOUS = "system:anonymous"
UNAUTHENTICATED = "system:unauthenticated"
"""The anonymous user's group, as system:authenticated is every other user's."""


@dataclass(frozen=True)
class UserInfo:
    """A user name, its uid (when the authenticator knows one) and its groups."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)
    """What an authenticator adds (a ServiceAccount token's pod name and uid)."""

    def with_authenticated(self) -> UserInfo:
        """The user with `system:authenticated` added, as every authenticated user has."""
        if AUTHENTICATED in self.groups:
            return self
        return UserInfo(self.name, (*self.groups, AUTHENTICATED), self.uid, self.extra)


def node_name(user: UserInfo) -> str | None:
    """The node a kubelet's identity names (`system:node:<name>` in `system:nodes`)."""
    if NODES in user.groups and user.name.startswith(NODE_PREFIX):
        name = user.name[len(NODE_PREFIX) :]
        return name or None
    return None


def service_account_user(namespace: str, name: str) -> str:
    """The user name of a ServiceAccount."""
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def service_account(user: UserInfo) -> tuple[str, str] | None:
    """(namespace, name) when the user is a ServiceAccount."""
    if not user.name.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, sep, name = user.name[len(SERVICE_ACCOUNT_PREFIX) :].partition(":")
    return (namespace, name) if sep and namespace and name else None

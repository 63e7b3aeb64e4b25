"""Acting as another user (kubectl's `--as`, `--as-group`), as kube-apiserver's
impersonation filter does it.

What a request asks to be is a user identity like any other (a UserInfo: name, groups,
uid, extra). The caller is authenticated first; then each part of that identity is
authorized as the verb `impersonate` on a resource of its own: `users` (or, for a
ServiceAccount's user name, that `serviceaccounts` object in its namespace), `groups`, and
in authentication.k8s.io `uids` and `userextras/<key>`. Only when every one is allowed
does the request go on, wholly as the impersonated user: its own authorization,
admission's userInfo and the audit log's user are that user's. So `kubectl auth can-i
--as=bob` answers for bob, and `kubectl delete --as=bob` deletes only what bob may.
cluster-admin (`*` on `*`) may impersonate anyone; the `edit` and `view` roles may not.
"""

from __future__ import annotations

from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.authorizer import Authorizer
from master.apiserver.auth.user import (
    ANONYMOUS,
    AUTHENTICATED,
    SERVICE_ACCOUNT_PREFIX,
    SERVICE_ACCOUNTS,
    UNAUTHENTICATED,
    UserInfo,
)

__all__ = ["checks", "impersonate", "running_as"]

AUTHENTICATION_GROUP = "authentication.k8s.io"


def checks(caller: UserInfo, asked: UserInfo) -> list[Attributes]:
    """One `impersonate` question per part of the identity asked, in Kubernetes' order."""
    account = _service_account(asked.name)
    if account is not None:
        namespace, name = account
        found = [Attributes(caller, "impersonate", "serviceaccounts", namespace=namespace,
                            name=name)]  # fmt: skip
    else:
        found = [Attributes(caller, "impersonate", "users", name=asked.name)]
    found += [Attributes(caller, "impersonate", "groups", name=g) for g in asked.groups]
    for key, values in asked.extra.items():
        found += [
            Attributes(caller, "impersonate", "userextras", key, AUTHENTICATION_GROUP, name=v)
            for v in values
        ]
    if asked.uid:
        found.append(
            Attributes(caller, "impersonate", "uids", api_group=AUTHENTICATION_GROUP,
                       name=asked.uid)
        )  # fmt: skip
    return found


def running_as(asked: UserInfo) -> UserInfo:
    """The user the request runs as: the identity asked, with the groups Kubernetes adds
    (a ServiceAccount's, and system:authenticated or, for the anonymous user,
    system:unauthenticated)."""
    groups = list(asked.groups)
    account = _service_account(asked.name)
    if account is not None:
        groups += [SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{account[0]}"]
    groups.append(UNAUTHENTICATED if asked.name == ANONYMOUS else AUTHENTICATED)
    unique = tuple(dict.fromkeys(groups))
    return UserInfo(asked.name, unique, asked.uid, dict(asked.extra))


def _service_account(user: str) -> tuple[str, str] | None:
    """(namespace, name) of `system:serviceaccount:<namespace>:<name>`, else None."""
    if not user.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, _, name = user[len(SERVICE_ACCOUNT_PREFIX) :].partition(":")
    return (namespace, name) if namespace and name else None


async def impersonate(authorizer: Authorizer | None, caller: UserInfo, asked: UserInfo) -> UserInfo:
    """The user to run as once `caller` may be all it asks; Forbidden naming the first
    thing it may not impersonate. With authorization off anyone may be anyone."""
    if authorizer is not None:
        for check in checks(caller, asked):
            await authorizer.authorize(check)
    return running_as(asked)

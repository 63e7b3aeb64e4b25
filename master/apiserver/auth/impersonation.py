"""Acting as another user (kubectl's `--as`, `--as-group`), as kube-apiserver's
impersonation filter does it.

The caller is authenticated first; then each thing it asks to be is authorized as the
verb `impersonate` on a resource of its own: `users` (or, for a ServiceAccount's user
name, that `serviceaccounts` object in its namespace), `groups`, and in
authentication.k8s.io `uids` and `userextras/<key>`. Only when every one is allowed does
the request go on, wholly as the impersonated user: its own authorization, admission's
userInfo and the audit log's user are that user's. So `kubectl auth can-i --as=bob`
answers for bob, and `kubectl delete --as=bob` deletes only what bob may. cluster-admin
(`*` on `*`) may impersonate anyone; the `edit` and `view` roles may not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.authorizer import Authorizer
from master.apiserver.auth.user import (
    ANONYMOUS,
    AUTHENTICATED,
    SERVICE_ACCOUNT_PREFIX,
    SERVICE_ACCOUNTS,
    UserInfo,
)

__all__ = ["Impersonation", "impersonate"]

AUTHENTICATION_GROUP = "authentication.k8s.io"
UNAUTHENTICATED = "system:unauthenticated"


@dataclass(frozen=True)
class Impersonation:
    """Who a request asks to act as (its Impersonate-* headers)."""

    user: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def checks(self, caller: UserInfo) -> list[Attributes]:
        """One `impersonate` question per thing asked, in Kubernetes' order."""
        asked = [self._user_check(caller)]
        asked += [Attributes(caller, "impersonate", "groups", name=g) for g in self.groups]
        for key, values in self.extra.items():
            asked += [
                Attributes(caller, "impersonate", "userextras", key, AUTHENTICATION_GROUP, name=v)
                for v in values
            ]
        if self.uid:
            asked.append(
                Attributes(caller, "impersonate", "uids", api_group=AUTHENTICATION_GROUP,
                           name=self.uid)
            )  # fmt: skip
        return asked

    def _user_check(self, caller: UserInfo) -> Attributes:
        account = _service_account(self.user)
        if account is not None:
            namespace, name = account
            return Attributes(
                caller, "impersonate", "serviceaccounts", namespace=namespace, name=name
            )
        return Attributes(caller, "impersonate", "users", name=self.user)

    def as_user(self) -> UserInfo:
        """The user the request runs as, with the groups Kubernetes adds."""
        groups = list(self.groups)
        account = _service_account(self.user)
        if account is not None:
            for group in (SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{account[0]}"):
                if group not in groups:
                    groups.append(group)
        implied = UNAUTHENTICATED if self.user == ANONYMOUS else AUTHENTICATED
        if implied not in groups:
            groups.append(implied)
        return UserInfo(self.user, tuple(groups), self.uid, dict(self.extra))


def _service_account(user: str) -> tuple[str, str] | None:
    """(namespace, name) of `system:serviceaccount:<namespace>:<name>`, else None."""
    if not user.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, _, name = user[len(SERVICE_ACCOUNT_PREFIX) :].partition(":")
    return (namespace, name) if namespace and name else None


async def impersonate(
    authorizer: Authorizer | None, caller: UserInfo, asked: Impersonation
) -> UserInfo:
    """The user to run as once `caller` may be all it asks; Forbidden naming the first
    thing it may not impersonate. With authorization off anyone may be anyone."""
    if authorizer is not None:
        for check in asked.checks(caller):
            await authorizer.authorize(check)
    return asked.as_user()

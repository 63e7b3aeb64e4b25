"""What a request asks to do, as an authorizer sees it (Kubernetes' authorizer.Attributes).

A resource request names a verb (get, list, watch, create, update, delete, ...), an API
group, a plural resource with an optional subresource (`pods/status`, `pods/log`), a
namespace and a name; a non-resource request names a path (`/metrics`) and a verb.
"""

from __future__ import annotations

from dataclasses import dataclass

from master.apiserver.auth.user import UserInfo

__all__ = ["Attributes", "Decision"]


@dataclass(frozen=True)
class Attributes:
    user: UserInfo
    verb: str
    resource: str = ""
    subresource: str = ""
    api_group: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""
    """A non-resource request's path; empty for resource requests."""
    field_selector: str = ""
    """The field selector of a list or watch (the node authorizer reads spec.nodeName)."""

    @property
    def is_resource_request(self) -> bool:
        return not self.path

    @property
    def full_resource(self) -> str:
        """`pods` or `pods/status`."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    def forbidden_message(self, reason: str = "") -> str:
        """Kubernetes' wording of a refusal, naming the user, the verb and the resource."""
        who = f'User "{self.user.name}"'
        if not self.is_resource_request:
            text = f'forbidden: {who} cannot {self.verb} path "{self.path}"'
        else:
            group = f'in API group "{self.api_group}"'
            where = " at the cluster scope"
            if self.namespace:
                where = f' in the namespace "{self.namespace}"'
            qualified = f"{self.resource}.{self.api_group}" if self.api_group else self.resource
            subject = f'{qualified} "{self.name}"' if self.name else qualified
            text = (
                f"{subject} is forbidden: {who} cannot {self.verb} resource "
                f'"{self.full_resource}" {group}{where}'
            )
        return f"{text}: {reason}" if reason else text


@dataclass(frozen=True)
class Decision:
    """An authorizer's answer: allowed, denied (with why), or no opinion (ask the next)."""

    allowed: bool
    reason: str = ""
    opinion: bool = True
    """False: this authorizer does not decide; the next one in the chain is asked."""


ALLOW = Decision(True)
NO_OPINION = Decision(False, opinion=False)

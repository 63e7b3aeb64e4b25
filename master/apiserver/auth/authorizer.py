"""Authorization: the chain of authorizers every request passes, and its refusal.

In order, as kube-apiserver's `--authorization-mode=Node,RBAC` with the superuser group:

1. members of `system:masters` may do anything (so a broken RBAC policy can be repaired);
2. the node authorizer decides for kubelets;
3. RBAC allows what some binding grants.

The first allow wins; when nobody allows, the request is Forbidden with Kubernetes'
message naming the user, the verb and the resource, and the reasons authorizers gave.
"""

from __future__ import annotations

from client import errors
from master.apiserver.auth.attributes import ALLOW, Attributes, Decision
from master.apiserver.auth.node import NodeAuthorizer
from master.apiserver.auth.rbac import RbacAuthorizer
from master.apiserver.auth.user import MASTERS

__all__ = ["Authorizer"]


class Authorizer:
    """Superuser, then node, then RBAC."""

    def __init__(self, rbac: RbacAuthorizer, node: NodeAuthorizer | None = None) -> None:
        self.rbac = rbac
        self.node = node

    async def decide(self, a: Attributes) -> Decision:
        """Allowed or not, with the reason (for access reviews and `tug auth can-i`)."""
        if MASTERS in a.user.groups:
            return ALLOW
        reasons: list[str] = []
        if self.node is not None:
            decision = await self.node.authorize(a)
            if decision.allowed:
                return decision
            if decision.reason:
                reasons.append(decision.reason)
        decision = self.rbac.authorize(a)
        if decision.allowed:
            return decision
        return Decision(False, "; ".join(reasons))

    async def authorize(self, a: Attributes) -> None:
        """Nothing when allowed; Forbidden naming the user, the verb and the resource."""
        decision = await self.decide(a)
        if not decision.allowed:
            raise errors.Forbidden(a.forbidden_message(decision.reason))

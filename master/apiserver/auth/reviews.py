"""Access reviews: "may I?" and "may they?", answered the same way over gRPC and REST.

Both frontends (authservice.py for `tug auth can-i`, rest/accessreviews.py for `kubectl
auth can-i`) ask this one function, so the two tools can never disagree. It runs the very
authorizer that judges real requests, so the answer is the one a request would get. A
review about someone else (a SubjectAccessReview) is itself a request the caller must be
allowed to make: `create subjectaccessreviews.authorization.k8s.io`, which Kubernetes
gives to the admin only. With authorization off every answer is yes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from master.apiserver.access import Access
from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.user import UserInfo

AUTHORIZATION_GROUP = "authorization.k8s.io"


@dataclass(frozen=True)
class Answer:
    allowed: bool
    reason: str
    subject: UserInfo


async def review(
    access: Access, asked: Attributes, *, user: str = "", groups: tuple[str, ...] = ()
) -> Answer:
    """Whether `user` (when empty, the caller: `asked.user`) may do what `asked` says;
    Forbidden when the caller may not ask about someone else."""
    caller = subject = asked.user
    if user:
        if access.authorizer is not None:
            await access.authorizer.authorize(
                Attributes(
                    user=caller,
                    verb="create",
                    resource="subjectaccessreviews",
                    api_group=AUTHORIZATION_GROUP,
                )
            )
        subject = UserInfo(user, groups).with_authenticated()
    if access.authorizer is None:
        return Answer(True, "", subject)
    decision = await access.authorizer.decide(replace(asked, user=subject))
    return Answer(decision.allowed, decision.reason, subject)

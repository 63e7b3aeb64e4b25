"""Who asks and may they: authentication then authorization for both front-ends.

The gRPC service and the HTTP API each describe a request (its credentials, verb, resource,
namespace, name, subresource, field selector) and call `Access.check`, which runs the
authenticator and the authorizer of master/apiserver/auth/ on it. So a request is judged
the same whichever door it came in by.

Off (`Access.open()`, the API server's `--authorization-mode AlwaysAllow` with no token
file) every request passes as `system:anonymous`, today's insecure behaviour; on, a request
without valid credentials is Unauthenticated and one its user may not make is Forbidden,
naming the user, the verb and the resource.
"""

from __future__ import annotations

from dataclasses import dataclass

from client.kinds import Kind
from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.authenticator import Authenticator
from master.apiserver.auth.authorizer import Authorizer
from master.apiserver.auth.user import ANONYMOUS as ANONYMOUS_NAME
from master.apiserver.auth.user import UNAUTHENTICATED, UserInfo

ANONYMOUS = UserInfo(ANONYMOUS_NAME, (UNAUTHENTICATED,))


@dataclass
class Request:
    """One request as access control sees it."""

    verb: str
    kind: Kind | None = None
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    field_selector: str = ""
    path: str = ""
    """A non-resource request's path (discovery, /openapi/v3)."""


class Access:
    """Authentication, then authorization; each None when off."""

    def __init__(
        self, authenticator: Authenticator | None = None, authorizer: Authorizer | None = None
    ) -> None:
        self.authenticator = authenticator
        self.authorizer = authorizer

    @classmethod
    def open(cls) -> Access:
        """Everything allowed, no credentials asked (the insecure mode)."""
        return cls()

    @property
    def enabled(self) -> bool:
        return self.authenticator is not None or self.authorizer is not None

    async def authenticate(self, authorization: str | None, certificate: bytes | None) -> UserInfo:
        if self.authenticator is None:
            return ANONYMOUS
        user = await self.authenticator.authenticate(certificate, authorization)
        return user.with_authenticated()

    async def check(
        self,
        request: Request,
        *,
        authorization: str | None = None,
        certificate: bytes | None = None,
    ) -> UserInfo:
        """The request's user when it may go on; Unauthenticated or Forbidden otherwise."""
        user = await self.authenticate(authorization, certificate)
        await self.authorize(request, user)
        return user

    async def authorize(self, request: Request, user: UserInfo) -> None:
        """Nothing when `user` may make the request; Forbidden naming them otherwise."""
        if self.authorizer is None:
            return
        kind = request.kind
        group = kind.api_version.rpartition("/")[0] if kind is not None else ""
        await self.authorizer.authorize(
            Attributes(
                user=user,
                verb=request.verb,
                resource=kind.resource if kind is not None else "",
                subresource=request.subresource,
                api_group=group,
                namespace=request.namespace,
                name=request.name,
                path=request.path if kind is None else "",
                field_selector=request.field_selector,
            )
        )

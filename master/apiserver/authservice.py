"""The Auth service: access reviews and who-am-i, behind `tug auth can-i` and `tug auth whoami`.

Kubernetes answers "may I?" with a SelfSubjectAccessReview and "may they?" with a
SubjectAccessReview, which only a caller allowed to `create subjectaccessreviews` may ask
(the admin); both run the very authorizer that judges real requests, so the answer is the
one a request would get. With authorization off every answer is yes. CreateToken issues
ServiceAccount tokens (Kubernetes' TokenRequest) through auth/issuing.py.
"""

from __future__ import annotations

from typing import Any

import grpc

from client import errors
from master.apiserver.access import Access
from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.issuing import TokenIssuer
from master.apiserver.auth.peers import grpc_caller
from master.apiserver.auth.user import UserInfo
from proto import auth_pb2, auth_pb2_grpc

AUTHORIZATION_GROUP = "authorization.k8s.io"


class AuthService(auth_pb2_grpc.AuthServicer):
    def __init__(self, access: Access, issuer: TokenIssuer | None = None) -> None:
        self.access = access
        self.issuer = issuer

    async def _caller(self, context: Any) -> UserInfo:
        try:
            return await self.access.authenticate(*grpc_caller(context))
        except errors.ApiError as e:
            await context.abort(e.code, e.message)
            raise

    async def WhoAmI(
        self, request: auth_pb2.WhoAmIRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.WhoAmIResponse:
        user = await self._caller(context)
        return auth_pb2.WhoAmIResponse(user=user.name, uid=user.uid, groups=list(user.groups))

    async def Review(
        self, request: auth_pb2.AccessReviewRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.AccessReviewResponse:
        caller = await self._caller(context)
        subject = caller
        if request.user:
            # A review about someone else: the caller must be allowed to ask it.
            if self.access.authorizer is not None:
                try:
                    await self.access.authorizer.authorize(
                        Attributes(
                            user=caller,
                            verb="create",
                            resource="subjectaccessreviews",
                            api_group=AUTHORIZATION_GROUP,
                        )
                    )
                except errors.ApiError as e:
                    await context.abort(e.code, e.message)
                    raise
            subject = UserInfo(request.user, tuple(request.groups)).with_authenticated()
        if self.access.authorizer is None:
            return auth_pb2.AccessReviewResponse(allowed=True, user=subject.name)
        attrs = request.resource_attributes
        decision = await self.access.authorizer.decide(
            Attributes(
                user=subject,
                verb=attrs.verb or request.non_resource_verb,
                resource=attrs.resource,
                subresource=attrs.subresource,
                api_group=attrs.api_group,
                namespace=attrs.namespace,
                name=attrs.name,
                path=request.non_resource_path,
            )
        )
        return auth_pb2.AccessReviewResponse(
            allowed=decision.allowed, reason=decision.reason, user=subject.name
        )

    async def CreateToken(
        self, request: auth_pb2.TokenRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.TokenResponse:
        """A token for a ServiceAccount, bound to a pod if one is named (auth/issuing.py)."""
        caller = await self._caller(context)
        if self.issuer is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "no ServiceAccount token issuer")
            raise AssertionError("unreachable")
        try:
            issued = await self.issuer.issue(
                caller,
                request.namespace or "default",
                request.service_account,
                expiration_seconds=int(request.expiration_seconds),
                pod_name=request.pod_name,
                pod_uid=request.pod_uid,
            )
        except errors.ApiError as e:
            await context.abort(e.code, e.message)
            raise
        return auth_pb2.TokenResponse(
            token=issued.token, expiration_timestamp=issued.expiration_timestamp
        )


__all__ = ["AuthService"]

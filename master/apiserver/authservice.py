"""The Auth service: access reviews and who-am-i, behind `tug auth can-i` and `tug auth whoami`.

Kubernetes answers "may I?" with a SelfSubjectAccessReview and "may they?" with a
SubjectAccessReview; both are answered by auth/reviews.py, which the REST frontend's
reviews (`kubectl auth can-i`) share. CreateToken issues
ServiceAccount tokens (Kubernetes' TokenRequest) through auth/issuing.py. Every pod asks
for one, so it is counted in `tugboat_apiserver_requests_total` and written to the audit
log as `create serviceaccounts/token`, as kube-apiserver counts and audits TokenRequests
(the REST subresource already was).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc

from client import errors
from client.kinds import by_resource
from master.apiserver.access import Access, Request
from master.apiserver.audit import AuditLog
from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.issuing import TokenIssuer
from master.apiserver.auth.peers import grpc_caller
from master.apiserver.auth.reviews import review
from master.apiserver.auth.user import UserInfo
from master.apiserver.metrics import ApiServerMetrics
from proto import auth_pb2, auth_pb2_grpc

SERVICE_ACCOUNTS = by_resource("serviceaccounts")


class AuthService(auth_pb2_grpc.AuthServicer):
    def __init__(
        self,
        access: Access,
        issuer: TokenIssuer | None = None,
        *,
        metrics: ApiServerMetrics | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.access = access
        self.issuer = issuer
        self.metrics = metrics
        self.audit = audit

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
        attrs = request.resource_attributes
        asked = Attributes(
            user=caller,
            verb=attrs.verb or request.non_resource_verb,
            resource=attrs.resource,
            subresource=attrs.subresource,
            api_group=attrs.api_group,
            namespace=attrs.namespace,
            name=attrs.name,
            path=request.non_resource_path,
        )
        try:
            answer = await review(
                self.access, asked, user=request.user, groups=tuple(request.groups)
            )
        except errors.ApiError as e:
            await context.abort(e.code, e.message)
            raise
        return auth_pb2.AccessReviewResponse(
            allowed=answer.allowed, reason=answer.reason, user=answer.subject.name
        )

    async def CreateToken(
        self, request: auth_pb2.TokenRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.TokenResponse:
        """A token for a ServiceAccount, bound to a pod if one is named (auth/issuing.py)."""
        started = time.perf_counter()
        namespace = request.namespace or "default"
        code = grpc.StatusCode.OK
        caller: UserInfo | None = None
        try:
            caller = await self.access.authenticate(*grpc_caller(context))
            if self.issuer is None:
                code = grpc.StatusCode.UNIMPLEMENTED
                await context.abort(code, "no ServiceAccount token issuer")
                raise AssertionError("unreachable")
            issued = await self.issuer.issue(
                caller,
                namespace,
                request.service_account,
                expiration_seconds=int(request.expiration_seconds),
                pod_name=request.pod_name,
                pod_uid=request.pod_uid,
                audiences=list(request.audiences),
            )
        except errors.ApiError as e:
            code = e.code
            await context.abort(e.code, e.message)
            raise
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except Exception:
            if code == grpc.StatusCode.OK:
                code = grpc.StatusCode.INTERNAL
            raise
        finally:
            self._record(code, namespace, request.service_account, caller, started)
        return auth_pb2.TokenResponse(
            token=issued.token, expiration_timestamp=issued.expiration_timestamp
        )

    def _record(
        self,
        code: grpc.StatusCode,
        namespace: str,
        name: str,
        caller: UserInfo | None,
        started: float,
    ) -> None:
        elapsed = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.requests.labels("create", SERVICE_ACCOUNTS.resource, code.name).inc()
            self.metrics.request_duration.labels("create", SERVICE_ACCOUNTS.resource).observe(
                elapsed
            )
        if self.audit is not None:
            self.audit.record(
                frontend="grpc",
                verb="create",
                resource=SERVICE_ACCOUNTS.resource,
                request=Request("create", SERVICE_ACCOUNTS, namespace, name, subresource="token"),
                user=caller,
                code=code.name,
                seconds=elapsed,
            )


__all__ = ["AuthService"]

"""`kubectl auth can-i` and `kubectl auth whoami`: the review kinds, which are asked, not stored.

SelfSubjectAccessReview and SubjectAccessReview (authorization.k8s.io/v1) and
SelfSubjectReview (authentication.k8s.io/v1) are create-only: the answer comes back as the
object's status and nothing reaches etcd, so they bypass the generic store and are routed
before its paths. The decision is auth/reviews.py's, the same one `tug auth can-i` gets
over gRPC. Each review is itself a request: the caller must be allowed to create it (every
authenticated user may ask about themselves; asking about others is the admin's).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from client import errors
from master.apiserver.access import Access
from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.reviews import AUTHORIZATION_GROUP, review
from master.apiserver.auth.user import UserInfo
from master.apiserver.rest import status
from master.apiserver.rest.bodies import request_body
from master.apiserver.rest.impersonation import acting_user
from master.apiserver.rest.status import HttpError

AUTHENTICATION_GROUP = "authentication.k8s.io"
_SELF_ACCESS = "selfsubjectaccessreviews"
_ACCESS = "subjectaccessreviews"
_SELF = "selfsubjectreviews"


class AccessReviewApi:
    """The review kinds' HTTP routes over one API server's authenticator and authorizer."""

    def __init__(self, access: Access) -> None:
        self.access = access

    def routes(self) -> list[web.RouteDef]:
        """Registered before the generic `/apis/{group}/...` routes."""
        return [
            web.post(f"/apis/{AUTHORIZATION_GROUP}/v1/{_SELF_ACCESS}", self._self_access),
            web.post(f"/apis/{AUTHORIZATION_GROUP}/v1/{_ACCESS}", self._access),
            web.post(f"/apis/{AUTHENTICATION_GROUP}/v1/{_SELF}", self._whoami),
        ]

    async def _self_access(self, request: web.Request) -> web.Response:
        return await self._answer(request, _SELF_ACCESS, "SelfSubjectAccessReview")

    async def _access(self, request: web.Request) -> web.Response:
        return await self._answer(request, _ACCESS, "SubjectAccessReview")

    async def _answer(self, request: web.Request, resource: str, kind: str) -> web.Response:
        try:
            caller = await self._caller(request, AUTHORIZATION_GROUP, resource)
            body = await _body(request, f"{AUTHORIZATION_GROUP}/v1", kind)
            spec = body.get("spec") or {}
            if not isinstance(spec, dict):
                raise errors.Invalid(f"{kind}: spec: must be an object")
            user = ""
            groups: tuple[str, ...] = ()
            if resource == _ACCESS:
                user = str(spec.get("user") or "")
                groups = tuple(str(g) for g in spec.get("groups") or ())
                if not user and not groups:
                    raise errors.Invalid(f"{kind}: spec.user: Required value: user or groups")
                user = user or "system:unknown"
            answer = await review(self.access, _asked(caller, kind, spec), user=user, groups=groups)
        except (errors.ApiError, HttpError) as e:
            return status.respond(status.of_error(e))
        verdict: dict[str, Any] = {"allowed": answer.allowed}
        if answer.reason:
            verdict["reason"] = answer.reason
        return _created(body | {"status": verdict})

    async def _whoami(self, request: web.Request) -> web.Response:
        try:
            caller = await self._caller(request, AUTHENTICATION_GROUP, _SELF)
            body = await _body(request, f"{AUTHENTICATION_GROUP}/v1", "SelfSubjectReview")
        except (errors.ApiError, HttpError) as e:
            return status.respond(status.of_error(e))
        info: dict[str, Any] = {"username": caller.name, "groups": list(caller.groups)}
        if caller.uid:
            info["uid"] = caller.uid
        if caller.extra:
            info["extra"] = {k: list(v) for k, v in caller.extra.items()}
        return _created(body | {"status": {"userInfo": info}})

    async def _caller(self, request: web.Request, group: str, resource: str) -> UserInfo:
        """The authenticated caller, when it may create this review."""
        caller = await acting_user(self.access, request)
        if self.access.authorizer is not None:
            await self.access.authorizer.authorize(
                Attributes(user=caller, verb="create", resource=resource, api_group=group)
            )
        return caller


def _asked(caller: UserInfo, kind: str, spec: dict[str, Any]) -> Attributes:
    resource = spec.get("resourceAttributes")
    other = spec.get("nonResourceAttributes")
    if isinstance(resource, dict) and not other:
        return Attributes(
            user=caller,
            verb=str(resource.get("verb") or ""),
            resource=str(resource.get("resource") or ""),
            subresource=str(resource.get("subresource") or ""),
            api_group=str(resource.get("group") or ""),
            namespace=str(resource.get("namespace") or ""),
            name=str(resource.get("name") or ""),
        )
    if isinstance(other, dict) and not resource:
        return Attributes(
            user=caller, verb=str(other.get("verb") or ""), path=str(other.get("path") or "")
        )
    raise errors.Invalid(
        f"{kind}: spec.resourceAttributes: Invalid value: exactly one of "
        "resourceAttributes or nonResourceAttributes must be given"
    )


async def _body(request: web.Request, api_version: str, kind: str) -> dict[str, Any]:
    data = request_body(await request.read(), request.content_type)
    if not isinstance(data, dict):
        raise HttpError("BadRequest", "the request body is not an object")
    return {"metadata": {}, **data, "apiVersion": api_version, "kind": kind}


def _created(body: dict[str, Any]) -> web.Response:
    return web.Response(status=201, text=json.dumps(body), content_type="application/json")

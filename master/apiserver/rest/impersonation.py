"""The user an HTTP request runs as: its authenticated caller, or whom its
Impersonate-* headers (kubectl's `--as`, `--as-group`, `--as-uid`) ask for.

The headers are read here, as kubectl sends them: `Impersonate-User`, one
`Impersonate-Group` per group, `Impersonate-Uid`, and `Impersonate-Extra-<key>` (the key
percent-encoded); master/apiserver/auth/impersonation.py decides whether the caller may.
Every HTTP door that authenticates (resources, discovery, /metrics, metrics.k8s.io, the
v1 HPA, access reviews) asks this one function, so none answers as the caller when the
request asked to be someone else.
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from client import errors
from master.apiserver.access import Access
from master.apiserver.auth.impersonation import impersonate
from master.apiserver.auth.peers import http_caller
from master.apiserver.auth.user import UserInfo

__all__ = ["acting_user", "impersonation_of"]

_USER, _GROUP, _UID, _EXTRA = (
    "Impersonate-User",
    "Impersonate-Group",
    "Impersonate-Uid",
    "Impersonate-Extra-",
)


def impersonation_of(request: web.Request) -> UserInfo | None:
    """What the request's headers ask to act as; None when it asks nothing. A group, uid or
    extra without a user is refused, as Kubernetes refuses it."""
    headers = request.headers
    groups = tuple(headers.getall(_GROUP, ()))
    uid = headers.get(_UID, "")
    extra: dict[str, tuple[str, ...]] = {}
    for name in {h for h in headers if h.lower().startswith(_EXTRA.lower())}:
        extra[unquote(name[len(_EXTRA) :]).lower()] = tuple(headers.getall(name))
    user = headers.get(_USER, "")
    if not user:
        if groups or uid or extra:
            asked = ", ".join(
                h for h, v in ((_GROUP, groups), (_UID, uid), (_EXTRA + "*", extra)) if v
            )
            raise errors.BadRequest(f"requested {asked} without impersonating a user")
        return None
    return UserInfo(user, groups, uid, extra)


async def acting_user(access: Access, request: web.Request) -> UserInfo:
    """The caller, authenticated, or the user it may impersonate (Forbidden otherwise)."""
    caller = await access.authenticate(*http_caller(request))
    asked = impersonation_of(request)
    if asked is None:
        return caller
    return await impersonate(access.authorizer, caller, asked)

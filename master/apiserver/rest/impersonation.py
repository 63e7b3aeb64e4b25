"""Requests that ask to act as someone else (kubectl's `--as`), refused until they are honoured.

kubectl sends `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` and
`Impersonate-Extra-*` headers and trusts the server to run the request as that user.
Tugboat does not impersonate, and a server that ignored the headers would answer as the
caller instead: `kubectl auth can-i --as=bob` would say what the admin may do, and
`kubectl delete --as=bob` would delete as the admin. So any such request is refused, naming
the header, before it reaches a handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from master.apiserver.rest import status
from master.apiserver.rest.status import HttpError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def impersonating(request: web.Request) -> str:
    """The first impersonation header of a request, or ""."""
    return next((h for h in request.headers if h.lower().startswith("impersonate-")), "")


@web.middleware
async def refuse_impersonation(request: web.Request, handler: Handler) -> web.StreamResponse:
    header = impersonating(request)
    if header:
        return status.respond(
            status.of_error(
                HttpError(
                    "BadRequest",
                    f"impersonation ({header}: {request.headers[header]}) is not supported "
                    "by this server; the request was not run",
                )
            )
        )
    return await handler(request)

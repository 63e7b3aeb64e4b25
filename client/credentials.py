"""A bearer token on every gRPC call, as a kubeconfig user's token is on every HTTP request.

The token travels as the `authorization: Bearer <token>` metadata of each call (unary and
streaming alike), which the API server reads exactly as it reads the HTTP header, so one
authenticator serves both front-ends. Attached by a channel interceptor, so no call site
can forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc

AUTHORIZATION = "authorization"

if TYPE_CHECKING:
    # grpc-stubs makes the interceptor bases generic; at run time they are plain ABCs.
    _UnaryBase = grpc.aio.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStreamBase = grpc.aio.UnaryStreamClientInterceptor[Any, Any]
    _StreamStreamBase = grpc.aio.StreamStreamClientInterceptor[Any, Any]
else:
    _UnaryBase = grpc.aio.UnaryUnaryClientInterceptor
    _UnaryStreamBase = grpc.aio.UnaryStreamClientInterceptor
    _StreamStreamBase = grpc.aio.StreamStreamClientInterceptor


def _with_token(details: Any, token: str) -> Any:
    metadata = [
        (k, v) for k, v in (details.metadata or ()) if k != AUTHORIZATION
    ] + [(AUTHORIZATION, f"Bearer {token}")]
    return grpc.aio.ClientCallDetails(
        details.method,
        details.timeout,
        grpc.aio.Metadata(*metadata),
        details.credentials,
        details.wait_for_ready,
    )


class _Unary(_UnaryBase):
    def __init__(self, token: str) -> None:
        self.token = token

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return await continuation(_with_token(details, self.token), request)


class _UnaryStream(_UnaryStreamBase):
    def __init__(self, token: str) -> None:
        self.token = token

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return await continuation(_with_token(details, self.token), request)


class _StreamStream(_StreamStreamBase):
    def __init__(self, token: str) -> None:
        self.token = token

    async def intercept_stream_stream(
        self, continuation: Callable[..., Any], details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(_with_token(details, self.token), request_iterator)


def token_interceptors(token: str) -> list[Any]:
    """Interceptors that put `token` on every call of a channel; none for no token."""
    if not token:
        return []
    return [_Unary(token), _UnaryStream(token), _StreamStream(token)]

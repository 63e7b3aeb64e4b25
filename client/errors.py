"""API errors: Kubernetes' status reasons, carried as gRPC status codes.

The API server raises these; the client turns a gRPC status back into the same class,
so code on both sides catches `Conflict` or `NotFound`, never a raw grpc code.
"""

from __future__ import annotations

from typing import Any

import grpc


class ApiError(Exception):
    """An error the API answered with; `code` is its gRPC status code."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    reason: str = "Unknown"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ApiError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "NotFound"


class AlreadyExists(ApiError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "AlreadyExists"


class Conflict(ApiError):
    """The write was based on a stale resourceVersion (or a precondition failed)."""

    code = grpc.StatusCode.ABORTED
    reason = "Conflict"


class Invalid(ApiError):
    """The object failed validation; the message names every bad field."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "Invalid"

    def __init__(self, message: str, causes: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.causes = causes or []
        """(field path, what is wrong with it) per bad field, where known: the HTTP API
        returns them as the Status' details.causes, which kubectl prints."""


class Forbidden(ApiError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "Forbidden"


class Unauthenticated(ApiError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "Unauthorized"


class Gone(ApiError):
    """The requested resourceVersion was compacted away: re-list, then watch again."""

    code = grpc.StatusCode.OUT_OF_RANGE
    reason = "Expired"


class FencedOut(ApiError):
    """A leader-only write whose election key is no longer held at the fenced revision."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "FencedOut"


class Unavailable(ApiError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = "ServiceUnavailable"


class Timeout(ApiError):
    """The server could not answer in time: a list at a resourceVersion newer than any it
    has seen ("Too large resource version"), as Kubernetes' 504."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = "Timeout"


class BadRequest(ApiError):
    """A request that cannot be served as asked (logs of a pod that has no node yet).

    It shares FAILED_PRECONDITION with FencedOut on gRPC, so a gRPC client sees FencedOut;
    only the HTTP API tells them apart (400 against 409).
    """

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "BadRequest"


class TooLarge(ApiError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RequestEntityTooLarge"


class TooManyRequests(ApiError):
    """The server is saturated and refused the request before doing any of it: safe to
    retry, after `retry_after` seconds (sent as the `retry-after` trailer on gRPC)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "TooManyRequests"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InternalError(ApiError):
    """The server failed to do what it should have (an admission webhook it could not ask)."""

    code = grpc.StatusCode.INTERNAL
    reason = "InternalError"


class StatusError(ApiError):
    """A refusal whose HTTP code and reason another party chose: an admission webhook's
    status, which Kubernetes passes on as the webhook gave it (a reason may be empty).
    gRPC carries it with the status code nearest the HTTP one."""

    def __init__(self, message: str, *, http_code: int, reason: str) -> None:
        super().__init__(message)
        self.http_code = http_code
        self.reason = reason
        self.code = _GRPC_OF_HTTP.get(http_code, grpc.StatusCode.UNKNOWN)


_GRPC_OF_HTTP = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    # A verb the resource does not serve (a ComponentStatus' writes): gRPC's own word for it.
    405: grpc.StatusCode.UNIMPLEMENTED,
    409: grpc.StatusCode.ABORTED,
    422: grpc.StatusCode.INVALID_ARGUMENT,
}


RETRY_AFTER = "retry-after"
"""The trailer that marks a RESOURCE_EXHAUSTED as TooManyRequests rather than TooLarge."""


def retry_after(error: grpc.RpcError) -> float | None:
    """Seconds the server asked to wait before a retry, if it refused for load."""
    trailers: Any = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in tuple(trailers or ()):
        if key == RETRY_AFTER:
            try:
                return float(value)
            except (TypeError, ValueError):
                return 1.0
    return None


_BY_CODE: dict[grpc.StatusCode, type[ApiError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        AlreadyExists,
        Conflict,
        Invalid,
        Forbidden,
        Unauthenticated,
        Gone,
        FencedOut,
        Unavailable,
        Timeout,
        TooLarge,
    )
}


def from_grpc(error: grpc.RpcError) -> ApiError:
    """The ApiError for a failed gRPC call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    wait = retry_after(error) if code == grpc.StatusCode.RESOURCE_EXHAUSTED else None
    if wait is not None:
        return TooManyRequests(details or str(code), retry_after=wait)
    cls = _BY_CODE.get(code, ApiError)
    err = cls(details or str(code))
    if cls is ApiError:
        err.code = code
    return err

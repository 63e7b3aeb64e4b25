"""Refusals as Kubernetes' `Status` objects, with the HTTP code kubectl expects of each reason.

kubectl prints `Error from server (NotFound): ...` from `reason` and `message`, and for
Invalid it prints each of `details.causes` (`spec.replicas: Invalid value: ...`), so the
HTTP API answers with exactly these fields. The gRPC errors carry the same reasons; this
module is only their HTTP spelling.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from client import errors
from client.kinds import Kind

HTTP_CODES = {
    "NotFound": 404,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Invalid": 422,
    "Forbidden": 403,
    "Unauthorized": 401,
    "Expired": 410,
    "Gone": 410,
    "FencedOut": 409,
    "ServiceUnavailable": 503,
    "RequestEntityTooLarge": 413,
    "BadRequest": 400,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "UnsupportedMediaType": 415,
    "TooManyRequests": 429,
    "Timeout": 504,
}
RETRY_AFTER_SECONDS = 1
"""What a 429 or 503 tells the client to wait before trying again."""


class HttpError(Exception):
    """A refusal that only the HTTP front-end makes (a bad path, body or media type)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def status_object(
    reason: str,
    message: str,
    *,
    kind: Kind | None = None,
    name: str = "",
    causes: list[tuple[str, str]] | None = None,
    code: int | None = None,
) -> dict[str, Any]:
    """The `Status` of a failure; `code` given: the reason goes as it is, even empty."""
    if code is None:
        code = HTTP_CODES.get(reason, 500)
        reason = reason if reason in HTTP_CODES else "InternalError"
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "code": code,
    }
    if reason:
        status["reason"] = reason
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if kind is not None:
        details["group"] = kind.group
        # As kube-apiserver: Invalid names the Kind ("The Deployment "web" is invalid"),
        # the other reasons the resource ("deployments.apps "web" not found").
        details["kind"] = kind.kind if reason == "Invalid" else kind.resource
    if causes:
        details["causes"] = [
            {"reason": "FieldValueInvalid", "message": detail, "field": path}
            for path, detail in causes
        ]
    if code in (429, 503):
        details["retryAfterSeconds"] = RETRY_AFTER_SECONDS
    if details:
        status["details"] = details
    return status


def of_error(error: Exception, kind: Kind | None = None, name: str = "") -> dict[str, Any]:
    """The Status of an API or HTTP error."""
    if isinstance(error, errors.StatusError):
        return status_object(
            error.reason, error.message, kind=kind, name=name, code=error.http_code
        )
    if isinstance(error, errors.ApiError):
        causes = error.causes if isinstance(error, errors.Invalid) else None
        found = status_object(error.reason, error.message, kind=kind, name=name, causes=causes)
        if isinstance(error, errors.TooManyRequests) and error.retry_after <= 0:
            found.get("details", {}).pop("retryAfterSeconds", None)
            if found.get("details") == {}:
                del found["details"]
        return found
    if isinstance(error, HttpError):
        return status_object(error.reason, error.message, kind=kind, name=name)
    return status_object("InternalError", f"internal error: {error}", kind=kind, name=name)


def respond(status: dict[str, Any]) -> web.Response:
    """The HTTP response carrying a Status."""
    headers = {}
    if status["code"] in (429, 503):
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return web.Response(
        status=status["code"],
        text=json.dumps(status),
        content_type="application/json",
        headers=headers,
    )


def success(kind: Kind, name: str) -> dict[str, Any]:
    """The Status of a delete that removed the object at once."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": kind.group, "kind": kind.resource},
    }

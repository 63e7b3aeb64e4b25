"""Who is writing, and the warnings for them: request facts that admission needs but the
store's signatures do not carry.

The gRPC service and the REST handlers authenticate a request before they call the
registry; admission policies then need the user (CEL's `request.userInfo`) and may add
warnings (a `Warn` validation action) that the REST layer sends as `Warning` headers.
Both travel in context variables, set per request, so the registry's verbs keep their
shape and a write made inside the server (bootstrap, a controller of its own) simply has
no caller.
"""

from __future__ import annotations

from contextvars import ContextVar

from master.apiserver.auth.user import UserInfo

__all__ = ["CALLER", "WARNINGS", "warn"]

CALLER: ContextVar[UserInfo | None] = ContextVar("tugboat_admission_caller", default=None)
WARNINGS: ContextVar[list[str] | None] = ContextVar("tugboat_admission_warnings", default=None)


def warn(message: str) -> None:
    """A warning for the client of the current request (dropped when none listens)."""
    found = WARNINGS.get()
    if found is not None:
        found.append(message)

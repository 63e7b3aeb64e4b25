"""The audit log: one JSON line per request, whichever front-end it came in by.

As Kubernetes' audit log at its Metadata level: who (user, groups), what (verb, resource,
subresource, namespace, name), the outcome (the status code and whether it was allowed)
and how long it took; never the request's or the answer's body, so Secrets stay out of
it. One line per request, flushed as written, so a crash loses at most the line being
written; a line is a few hundred bytes, written in place rather than through a thread
(the write is a copy into the page cache, not a wait).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO

from client.timestamps import now_micro
from master.apiserver.access import Request
from master.apiserver.auth.user import UserInfo


class AuditLog:
    """Appends audit events to a file (0600: who did what is sensitive too)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file: TextIO = os.fdopen(fd, "a", buffering=1)

    def record(
        self,
        *,
        frontend: str,
        verb: str,
        resource: str,
        request: Request | None,
        user: UserInfo | None,
        code: str,
        seconds: float,
    ) -> None:
        event = {
            "timestamp": now_micro(),
            "frontend": frontend,
            "user": user.name if user is not None else "",
            "groups": list(user.groups) if user is not None else [],
            "verb": verb,
            "resource": resource,
            "subresource": request.subresource if request else "",
            "namespace": request.namespace if request else "",
            "name": request.name if request else "",
            "code": code,
            "allowed": code not in ("PERMISSION_DENIED", "UNAUTHENTICATED", "Forbidden"),
            "latency_ms": round(seconds * 1000, 3),
        }
        self._file.write(json.dumps(event) + "\n")

    def close(self) -> None:
        self._file.close()

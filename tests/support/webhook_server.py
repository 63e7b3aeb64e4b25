"""An admission webhook of the test's own: an HTTPS server in the test's event loop that
records every AdmissionReview it is sent and answers as the test tells it.

Its certificate comes from a CA made for the test and names 127.0.0.1 and the Service
names a configuration may use, so the API server's TLS checks are the real ones; the
CA's PEM is the configuration's caBundle.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from cli.cluster.pki import CertificateAuthority

Answer = Callable[[dict[str, Any]], dict[str, Any]]
"""The review's request -> the response's fields besides uid (allowed, status, patch...)."""


def allow(_: dict[str, Any]) -> dict[str, Any]:
    return {"allowed": True}


def patch_answer(operations: list[dict[str, Any]]) -> dict[str, Any]:
    """An allowing answer carrying a JSON patch."""
    encoded = base64.b64encode(json.dumps(operations).encode()).decode()
    return {"allowed": True, "patchType": "JSONPatch", "patch": encoded}


@dataclass
class WebhookServer:
    """Paths -> answers; `reviews` holds every review received, by path."""

    hosts: tuple[str, ...] = ("127.0.0.1", "hooks.default.svc")
    answers: dict[str, Answer] = field(default_factory=dict)
    reviews: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    port: int = 0
    ca_pem: bytes = b""
    _runner: web.AppRunner | None = None

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.ca_pem).decode()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        ca = CertificateAuthority.create("webhook-test-ca")
        pair = ca.issue("webhook", server=True, hosts=self.hosts)
        self.ca_pem = ca.cert_pem
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
            cert.write_bytes(pair.cert)
            key.write_bytes(pair.key)
            context.load_cert_chain(cert, key)
        app = web.Application()
        app.router.add_post("/{path:.*}", self._review)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _review(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        review = await request.json()
        self.reviews.setdefault(path, []).append(review)
        answer = self.answers.get(path, allow)(review["request"])
        response = {"uid": review["request"]["uid"], **answer}
        return web.json_response(
            {**{k: review[k] for k in ("apiVersion", "kind")}, "response": response}
        )

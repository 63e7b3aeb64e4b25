"""The HTTP server every daemon runs: `/healthz` (and `/livez`), `/readyz`, `/metrics`, and
its own routes.

One aiohttp application per daemon, as kube-apiserver serves its health checks, its
metrics and its API on one port: a daemon adds its routes (the API server's Prometheus
service discovery and REST API) to `app` before `start()`, after which aiohttp freezes
the router. `/healthz` says the process serves at all, as `/livez` does (Kubernetes'
newer name for it, which kubeadm's and kind's probes ask); `/readyz` asks the daemon's own
readiness check; `/metrics` is prometheus_client's text exposition of the daemon's
registry, rendered on the event loop because collectors read informer caches and other
state that only the loop may touch.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Iterable

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = structlog.get_logger("statusserver")

ReadyCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else the reason it is not."""

_SHUTDOWN_GRACE = 2.0
"""Seconds open requests get to finish when the server stops."""

MAX_HEADER_BYTES = 1024 * 1024
"""The longest request line or header, as Go's servers allow (`http.DefaultMaxHeaderBytes`).

aiohttp's own 8 KiB would refuse the URL of an object Kubernetes accepts: an RBAC name
is any path segment, of any length."""


MetricsGuard = Callable[[web.Request], Awaitable[web.Response | None]]


async def _always_ready() -> str | None:
    return None


class StatusServer:
    """Serves /healthz, /readyz, /metrics and added routes on host:port (port 0: any free).

    `app` is the aiohttp application: add routes to it (or call `add_routes`) before
    `start()`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        registry: CollectorRegistry,
        ready: ReadyCheck = _always_ready,
        ssl_context: ssl.SSLContext | None = None,
        metrics_guard: MetricsGuard | None = None,
        max_request_bytes: int = 1024 * 1024,
        cancel_on_disconnect: bool = False,
    ) -> None:
        self.host = host
        self.cancel_on_disconnect = cancel_on_disconnect
        """Cancel a request's handler when its client goes away (aiohttp's
        handler_cancellation), as kube-apiserver cancels a request's context: the API
        server's, so that a request waiting in a priority level's queue leaves it."""
        self.metrics_guard = metrics_guard
        """Asked before /metrics is served: None lets the request through, a response
        (401, 403) refuses it (an API server with anonymous metrics turned off)."""
        self.ssl_context = ssl_context
        """HTTPS with this context (the API server's port when it has a certificate)."""
        self.port = port
        self.registry = registry
        self.ready = ready
        self.app = web.Application(client_max_size=max_request_bytes)
        """Bodies over `max_request_bytes` raise `HTTPRequestEntityTooLarge` when read."""
        self.app.add_routes(
            [
                web.get("/healthz", self._healthz),
                web.get("/livez", self._healthz),
                web.get("/readyz", self._readyz),
                web.get("/metrics", self._metrics),
            ]
        )
        self._runner: web.AppRunner | None = None

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Serve `routes` too; only before `start()`."""
        if self._runner is not None:
            raise RuntimeError("routes must be added before the status server starts")
        self.app.add_routes(routes)

    async def start(self) -> None:
        """Listen; `port` is the bound port afterwards."""
        # No access log: Prometheus scrapes every few seconds and probes poll /readyz.
        runner = web.AppRunner(
            self.app,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_GRACE,
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
            handler_cancellation=self.cancel_on_disconnect,
        )
        await runner.setup()
        site = web.TCPSite(
            runner, self.host, self.port, reuse_address=True, ssl_context=self.ssl_context
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("status server listening", key=f"{self.host}:{self.port}")

    async def stop(self) -> None:
        """Stop listening; open requests get a short grace, then their connections close."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _request: web.Request) -> web.Response:
        reason = await self.ready()
        if reason is None:
            return web.Response(text="ok\n")
        return web.Response(status=503, text=f"not ready: {reason}\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.metrics_guard is not None:
            refusal = await self.metrics_guard(request)
            if refusal is not None:
                return refusal
        return _exposition(self.registry)


def _exposition(registry: CollectorRegistry) -> web.Response:
    response = web.Response(body=generate_latest(registry))
    # CONTENT_TYPE_LATEST carries its own charset and version parameters.
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def metrics_route(path: str, registry: CollectorRegistry) -> web.RouteDef:
    """A route serving another registry's metrics (the kubelet's /metrics/cadvisor)."""

    async def handler(_request: web.Request) -> web.Response:
        return _exposition(registry)

    return web.get(path, handler)

"""The small HTTP server every daemon runs: `/healthz`, `/readyz` and `/metrics`.

Three GET paths need no web framework: this reads one request line, answers and closes
the connection. `/healthz` says the process serves at all; `/readyz` asks the daemon's
own readiness check; `/metrics` is prometheus_client's text exposition of the daemon's
registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from client.timeouts import within

log = structlog.get_logger("statusserver")

ReadyCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else the reason it is not."""

_READ_TIMEOUT = 5.0
_MAX_HEADER_LINES = 100


async def _always_ready() -> str | None:
    return None


class StatusServer:
    """Serves /healthz, /readyz and /metrics on host:port (port 0: any free port)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        registry: CollectorRegistry,
        ready: ReadyCheck = _always_ready,
    ) -> None:
        self.host = host
        self.port = port
        self.registry = registry
        self.ready = ready
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; `port` is the bound port afterwards."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("status server listening", key=f"{self.host}:{self.port}")

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/healthz":
            return 200, "text/plain; charset=utf-8", b"ok\n"
        if path == "/readyz":
            reason = await self.ready()
            if reason is None:
                return 200, "text/plain; charset=utf-8", b"ok\n"
            return 503, "text/plain; charset=utf-8", f"not ready: {reason}\n".encode()
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)
        return 404, "text/plain; charset=utf-8", f"no such path: {path}\n".encode()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await within(reader.readline(), _READ_TIMEOUT)
            for _ in range(_MAX_HEADER_LINES):
                header = await within(reader.readline(), _READ_TIMEOUT)
                if header in (b"\r\n", b"\n", b""):
                    break
            parts = line.decode("latin-1").split()
            if len(parts) < 2:
                status, ctype, body = 400, "text/plain; charset=utf-8", b"bad request\n"
            elif parts[0] not in ("GET", "HEAD"):
                status, ctype, body = 405, "text/plain; charset=utf-8", b"only GET\n"
            else:
                status, ctype, body = await self._answer(parts[1].split("?", 1)[0])
            reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                      503: "Service Unavailable"}[status]
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            writer.write(head if parts and parts[0] == "HEAD" else head + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

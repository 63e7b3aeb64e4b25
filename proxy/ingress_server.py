"""Tugboat's ingress controller: an HTTP/1.1 reverse proxy inside every node's tug-proxy.

Why our own proxy and not nginx or HAProxy configured from the API: tug-proxy already
runs on every node, on every driver (loopback processes, Docker nodes, VMs), and already
watches Services and Endpoints, which are most of what routing needs. A separate
nginx/HAProxy would need a package in every node image, a generated configuration, the
TLS keys written to disk and a reload on every Endpoints change (the routes go to pod
addresses, which change with every rollout). Here a change is a new route table swapped
in between two requests: no restart, no reload, no file, and open connections finish on
the table they started with. The price is throughput (Python per request; the bench
does not cover it) and the features Tugboat leaves out: no WebSocket upgrade or HTTP/2,
no annotations (rewrites, redirects to HTTPS, auth), no `resource` backends.

aiohttp parses and writes HTTP on both sides, so the proxy's own code is the routing:
the Host header and path pick a route in the table (ingress.py), the route's balancer
(round-robin, balancer.py) picks a ready endpoint, and the request is forwarded with
its body streamed, the Host header kept, and X-Forwarded-For/-Host/-Port/-Proto and
X-Real-IP added, as ingress-nginx sends them. A connection refused by an endpoint is
retried once on another. Answers of the proxy itself: 404 when no route matches and
there is no default backend, 503 when the backend has no ready endpoint, 502 when the
endpoints cannot be reached, 504 when one does not answer in time.

HTTPS terminates here, the certificate chosen per connection by SNI from the table
(an unknown name gets the default certificate: one from a spec.tls entry without
hosts, else a self-signed one made at start, as ingress-nginx's fake certificate).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import ssl
from collections.abc import Mapping

import aiohttp
import structlog
from aiohttp import web
from multidict import CIMultiDict
from prometheus_client import Counter
from yarl import URL

from client.api import ApiClient
from client.informer import Informer
from client.timeouts import within
from client.tls import ServerTls
from proto import core_pb2, networking_pb2
from proxy.balancer import Balancer
from proxy.ingress import Certificate, IngressTable, Route, build_table
from proxy.settings import ProxySettings
from proxy.table import Backend

__all__ = ["IngressServer", "add_ingress_flags", "check_ingress_flags"]

log = structlog.get_logger("proxy.ingress")

REQUESTS = Counter(
    "tugboat_proxy_ingress_requests_total",
    "HTTP requests the ingress controller answered, by Ingress and status code.",
    ["ingress", "code"],
)

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
        "expect",
    }
)
_READ_TIMEOUT = 60.0
"""Seconds an endpoint may take to answer (ingress-nginx's proxy-read-timeout)."""


class IngressServer:
    """The ingress controller of one node: `start()`, then `stop()`."""

    def __init__(
        self,
        api: ApiClient,
        *,
        address: str,
        http_port: int,
        https_port: int,
        services: Informer[core_pb2.Service],
        endpoints: Informer[core_pb2.Endpoints],
        connect_timeout: float = 2.0,
        retry_period: float = 10.0,
    ) -> None:
        self.address = address
        self.http_port, self.https_port = http_port, https_port
        self.services, self.endpoints = services, endpoints
        self.ingresses: Informer[networking_pb2.Ingress] = Informer(api, "ingresses")
        self.classes: Informer[networking_pb2.IngressClass] = Informer(api, "ingressclasses")
        self.secrets: Informer[core_pb2.Secret] = Informer(api, "secrets")
        self._own = (self.ingresses, self.classes, self.secrets)
        for informer in (*self._own, services, endpoints):
            informer.add_key_handler(lambda _key: self._changed.set())
        self.connect_timeout = connect_timeout
        self.retry_period = retry_period
        self.table = IngressTable()
        self.balancers: dict[str, Balancer] = {}
        self.syncs = 0
        self.ports: dict[str, int] = {}
        """"http"/"https" -> the port listened on once listening (0 picks a free one)."""
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._fallback: ssl.SSLContext | None = None
        self._tls: ssl.SSLContext | None = None
        self._sites: dict[str, web.TCPSite] = {}
        self._bind_errors: dict[str, str] = {}
        self._runner: web.ServerRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_proxy(
        cls,
        settings: ProxySettings,
        api: ApiClient,
        services: Informer[core_pb2.Service],
        endpoints: Informer[core_pb2.Endpoints],
    ) -> IngressServer | None:
        """The ingress controller of a proxy, sharing its Service and Endpoints caches;
        None when both ingress ports are off."""
        if settings.ingress_http_port < 0 and settings.ingress_https_port < 0:
            return None
        return cls(
            api,
            address=settings.address,
            http_port=settings.ingress_http_port,
            https_port=settings.ingress_https_port,
            services=services,
            endpoints=endpoints,
            connect_timeout=settings.connect_timeout,
            retry_period=settings.sync_period,
        )

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the informers, the sync loop and the listeners (retried if they fail)."""
        pem = await asyncio.to_thread(_self_signed)
        self._fallback = ServerTls(*pem).ssl_context()
        # The listening context holds the fallback certificate; each handshake swaps in
        # the context of the certificate its SNI name selects.
        self._tls = ServerTls(*pem).ssl_context()
        self._tls.sni_callback = self._on_sni
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=0, force_close=False),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.connect_timeout, sock_read=_READ_TIMEOUT
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        server = web.Server(self._handle, access_log=None)
        self._runner = web.ServerRunner(server, handle_signals=False)
        await self._runner.setup()
        for informer in self._own:
            informer.start()
        self._task = asyncio.create_task(self._loop(), name="ingress-sync")

    async def ready(self) -> str | None:
        """None once the first table is built."""
        return None if self.syncs else "the ingress routes are not built yet"

    async def stop(self) -> None:
        """Stop listening and syncing; requests in flight are cut after a short grace."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await asyncio.gather(*(informer.stop() for informer in self._own))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._sites.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _loop(self) -> None:
        for informer in (*self._own, self.services, self.endpoints):
            await informer.wait_synced()
        # One turn per change (or per retry period, to retry a port that was taken).
        while True:
            self._changed.clear()
            try:
                self.sync()
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ingress sync failed", key="ingress")
            try:
                await within(self._changed.wait(), self.retry_period)
            except TimeoutError:
                pass

    # -- the table -------------------------------------------------------------------

    def sync(self) -> None:
        """Rebuild the route table and the TLS contexts from the caches."""
        services = {_key(s): s for s in self.services.list(copy=False)}
        endpoints = {_key(e): e for e in self.endpoints.list(copy=False)}
        secrets = {_key(s): s for s in self.secrets.list(copy=False)}
        table = build_table(
            self.ingresses.list(copy=False),
            self.classes.list(copy=False),
            services,
            endpoints,
            secrets,
        )
        routes = [*_all_routes(table)]
        for route in routes:
            balancer = self.balancers.get(route.target.key)
            if balancer is None:
                balancer = self.balancers[route.target.key] = Balancer()
            balancer.update(route.target.backends, None)
        wanted = {r.target.key for r in routes}
        for key in [k for k in self.balancers if k not in wanted]:
            del self.balancers[key]
        self._contexts = self._tls_contexts(table, self._contexts)
        if table.ingresses != self.table.ingresses:
            log.info("serving ingresses", key="ingress", ingresses=list(table.ingresses))
        self.table = table
        self.syncs += 1

    @staticmethod
    def _tls_contexts(
        table: IngressTable, old: Mapping[str, ssl.SSLContext]
    ) -> dict[str, ssl.SSLContext]:
        """One context per certificate, keyed by a digest of it: unchanged ones are kept."""
        made: dict[str, ssl.SSLContext] = {}
        certs = [*table.certificates.values()]
        if table.default_certificate is not None:
            certs.append(table.default_certificate)
        for cert in certs:
            digest = _digest(cert)
            if digest in made:
                continue
            context = old.get(digest)
            if context is None:
                try:
                    context = ServerTls(cert.cert, cert.key).ssl_context()
                except (ssl.SSLError, ValueError, OSError) as e:
                    log.warning("unusable TLS secret", key=cert.secret, error=str(e))
                    continue
            made[digest] = context
        return made

    def _on_sni(
        self, sock: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext
    ) -> None:
        cert = self.table.certificate(server_name)
        chosen = self._contexts.get(_digest(cert)) if cert is not None else None
        if chosen is not None:
            sock.context = chosen

    async def _listen(self) -> None:
        if self._runner is None:
            return
        for scheme, port, context in (
            ("http", self.http_port, None),
            ("https", self.https_port, self._tls),
        ):
            if port < 0 or scheme in self._sites:
                continue
            site = web.TCPSite(
                self._runner, self.address, port, ssl_context=context, reuse_address=True
            )
            try:
                await site.start()
            except OSError as e:
                # Retried every period; said again only when the reason changes.
                if self._bind_errors.get(scheme) != str(e):
                    self._bind_errors[scheme] = str(e)
                    log.error("cannot listen", key=f"{scheme}/{self.address}:{port}", error=str(e))
                continue
            self._sites[scheme] = site
            # Port 0 (tests) binds a free port: the bound socket is only on the server.
            server = site._server
            sockets = getattr(server, "sockets", None) or ()
            self.ports[scheme] = sockets[0].getsockname()[1] if sockets else port
            log.info("ingress listening", key=f"{scheme}/{self.address}:{self.ports[scheme]}")

    # -- one request -----------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        path = request.raw_path.partition("?")[0]
        route = self.table.route(host, path)
        if route is None:
            REQUESTS.labels("", "404").inc()
            return web.Response(status=404, text="404 page not found\n")
        response = await self._forward(request, route)
        REQUESTS.labels(route.ingress, str(response.status)).inc()
        return response

    async def _forward(self, request: web.BaseRequest, route: Route) -> web.StreamResponse:
        if request.headers.get("Expect", "").lower() == "100-continue":
            # Answered here, not by the endpoint: the body is streamed on once it comes.
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        balancer = self.balancers.get(route.target.key)
        tried: set[Backend] = set()
        client = request.remote or ""
        for _attempt in range(2):
            backend = balancer.pick(client, frozenset(tried)) if balancer else None
            if backend is None:
                if tried:
                    break
                log.info("no ready endpoint", key=route.ingress, backend=route.target.key)
                return web.Response(status=503, text="503 Service Temporarily Unavailable\n")
            tried.add(backend)
            try:
                return await self._exchange(request, backend)
            except aiohttp.ClientConnectorError as e:
                log.warning(
                    "endpoint refused", key=route.ingress, endpoint=_show(backend), error=str(e)
                )
                continue  # refused before a byte of the body was read: try another
            except TimeoutError:
                return web.Response(status=504, text="504 Gateway Time-out\n")
            except aiohttp.ClientError as e:
                log.warning(
                    "endpoint failed", key=route.ingress, endpoint=_show(backend), error=str(e)
                )
                break
        return web.Response(status=502, text="502 Bad Gateway\n")

    async def _exchange(self, request: web.BaseRequest, backend: Backend) -> web.StreamResponse:
        assert self._session is not None
        headers = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP
        )
        client = request.remote or ""
        forwarded = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded}, {client}" if forwarded else client
        headers["X-Real-IP"] = client
        headers["X-Forwarded-Host"] = request.headers.get("Host", "")
        headers["X-Forwarded-Proto"] = request.scheme
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        if sockname:
            headers["X-Forwarded-Port"] = str(sockname[1])
        url = URL(f"http://{backend.ip}:{backend.port}{request.raw_path}", encoded=True)
        body = request.content.iter_any() if request.body_exists else None
        async with self._session.request(
            request.method,
            url,
            headers=headers,
            data=body,
            allow_redirects=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        ) as upstream:
            answer = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for k, v in upstream.headers.items():
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length":
                    answer.headers.add(k, v)
            if upstream.content_length is not None:
                answer.content_length = upstream.content_length
            await answer.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await answer.write(chunk)
            except (aiohttp.ClientError, TimeoutError) as e:
                # The status line is gone already: the client can only learn of the cut
                # by the connection closing before the answer's end.
                log.warning("endpoint cut its answer", key=_show(backend), error=str(e))
                if request.transport is not None:
                    request.transport.abort()
                return answer
            await answer.write_eof()
            return answer


def _key(obj: core_pb2.Service | core_pb2.Endpoints | core_pb2.Secret) -> str:
    return f"{obj.metadata.namespace}/{obj.metadata.name}"


def _show(backend: Backend) -> str:
    return f"{backend.ip}:{backend.port}"


def _digest(cert: Certificate) -> str:
    return hashlib.sha256(cert.cert + b"\0" + cert.key).hexdigest()


def _all_routes(table: IngressTable) -> list[Route]:
    routes = [*table.any_host]
    for group in (*table.exact.values(), *table.wildcard.values()):
        routes.extend(group)
    if table.default is not None:
        routes.append(table.default)
    return routes


def _self_signed() -> tuple[bytes, bytes]:
    """A fresh self-signed certificate and its key, PEM (ingress-nginx's "fake" one)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tugboat Ingress Fake Certificate")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("ingress.local")]), False)
        .sign(key, hashes.SHA256())
    )
    pem_cert = cert.public_bytes(serialization.Encoding.PEM)
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem_cert, pem_key


def add_ingress_flags(p: argparse.ArgumentParser) -> None:
    """tug-proxy's ingress flags: the two ports on the node's address."""
    p.add_argument(
        "--ingress-http-port",
        type=int,
        default=80,
        help="ingress controller HTTP port on --address; -1: off",
    )
    p.add_argument(
        "--ingress-https-port",
        type=int,
        default=443,
        help="ingress controller HTTPS port on --address; -1: off",
    )


def check_ingress_flags(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    """Refuse (naming the flag) a port outside -1..65535."""
    for flag in ("ingress_http_port", "ingress_https_port"):
        if not -1 <= getattr(a, flag) <= 65535:
            p.error(f"--{flag.replace('_', '-')}: must be -1 (off) or a port 0..65535")

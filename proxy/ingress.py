"""The ingress route table: Ingresses, Services, Endpoints and Secrets in, routes out.

The pure half of the ingress controller (ingress_server.py is the HTTP half): no
sockets, no clock, so every matching rule is tested as a table. A request is routed as
Kubernetes defines it (concepts/services-networking/ingress):

- Host: an exact rule host wins over a wildcard one, and a wildcard `*.example.com`
  covers exactly one label (`a.example.com`, not `example.com` nor `a.b.example.com`);
  a rule without a host takes every host. When the most specific host level has no
  path for the request, the next level is tried (exact, wildcard, any host), then the
  default backend, then 404.
- Path: Exact compares the whole path; Prefix compares path elements split by `/`
  (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, never `/foobar`; a trailing slash on
  either side is ignored); ImplementationSpecific is Prefix here. Of the paths that
  match, the longest wins, and Exact beats Prefix at equal length.
- Several Ingresses for one host merge into one set of paths (as ingress-nginx merges
  them); the default backend is the oldest Ingress' that has one.

A backend is a Service port (by number or by name), resolved to the Service's ready
endpoints on the matching target port: traffic goes straight to the pods, not through
the ClusterIP, as ingress-nginx sends it, so balancing is per request. A backend with
no ready endpoint (or a `resource` backend, which Tugboat does not serve) routes to an
empty list and the server answers 503.

TLS: each spec.tls entry maps its hosts to its Secret's certificate (kubernetes.io/tls,
keys tls.crt and tls.key); an entry without hosts gives the certificate for names no
entry names. A missing or malformed Secret leaves its hosts on the default certificate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from client import ingresses
from proto import core_pb2, networking_pb2
from proxy.table import Backend, ready_backends

__all__ = [
    "EXACT",
    "IMPLEMENTATION_SPECIFIC",
    "PREFIX",
    "Certificate",
    "IngressTable",
    "Route",
    "Target",
    "build_table",
    "host_of",
    "path_matches",
]

EXACT = "Exact"
PREFIX = "Prefix"
IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"
TLS_CERT, TLS_KEY = "tls.crt", "tls.key"


@dataclass(frozen=True)
class Target:
    """Where a route sends requests: one Service port and its ready endpoints."""

    key: str
    """"ns/service:port" (the port as the Ingress names it): the balancer's key."""
    backends: tuple[Backend, ...]


@dataclass(frozen=True)
class Route:
    """One path of one rule."""

    path: str
    path_type: str
    target: Target
    ingress: str
    """"ns/name" of the Ingress it comes from (logs, metrics)."""

    def matches(self, request_path: str) -> bool:
        return path_matches(self.path_type, self.path, request_path)

    @property
    def rank(self) -> tuple[int, int]:
        """Longest path first; at equal length Exact before Prefix."""
        exact = self.path_type == EXACT
        return (len(self.path) if exact else len(self.path.rstrip("/")), 1 if exact else 0)


@dataclass(frozen=True)
class Certificate:
    """A TLS certificate chain and key, PEM, from one Secret."""

    secret: str
    """"ns/name"."""
    cert: bytes
    key: bytes


@dataclass
class IngressTable:
    """Everything the server needs to route one request and pick one certificate."""

    exact: dict[str, list[Route]] = field(default_factory=dict)
    """Host -> routes, longest first."""
    wildcard: dict[str, list[Route]] = field(default_factory=dict)
    """The part after `*.` -> routes, longest first."""
    any_host: list[Route] = field(default_factory=list)
    default: Route | None = None
    """The default backend (path "/" Prefix, for logging), or None."""
    certificates: dict[str, Certificate] = field(default_factory=dict)
    """TLS host (exact or `*.x`) -> certificate."""
    default_certificate: Certificate | None = None
    ingresses: tuple[str, ...] = ()
    """The Ingresses served, "ns/name", sorted."""

    def route(self, host: str, path: str) -> Route | None:
        """The route for a request to `host` (the Host header) and `path`; None: 404."""
        name = host_of(host)
        levels = [self.exact.get(name, [])]
        _, dot, parent = name.partition(".")
        if dot:
            levels.append(self.wildcard.get(parent, []))
        levels.append(self.any_host)
        for routes in levels:
            for route in routes:
                if route.matches(path):
                    return route
        return self.default

    def certificate(self, server_name: str | None) -> Certificate | None:
        """The certificate for an SNI name; the default one when none is named for it."""
        if server_name:
            name = host_of(server_name)
            found = self.certificates.get(name)
            if found is not None:
                return found
            _, dot, parent = name.partition(".")
            if dot and (found := self.certificates.get(f"*.{parent}")) is not None:
                return found
        return self.default_certificate


def host_of(header: str) -> str:
    """A Host header's name: lower case, without the port or a trailing dot."""
    text = header.strip().lower()
    if text.startswith("["):  # an IPv6 literal: never a rule host, kept whole
        return text.partition("]")[0] + "]"
    return text.rpartition(":")[0].rstrip(".") if ":" in text else text.rstrip(".")


def path_matches(path_type: str, rule_path: str, request_path: str) -> bool:
    """Whether `request_path` matches a rule's path of `path_type`."""
    if path_type == EXACT:
        return request_path == rule_path
    # Prefix (and ImplementationSpecific): element-wise, trailing slashes ignored.
    want = [p for p in rule_path.split("/") if p]
    have = [p for p in request_path.split("/") if p]
    return have[: len(want)] == want


def _target(
    namespace: str,
    backend: networking_pb2.IngressBackend,
    services: Mapping[str, core_pb2.Service],
    endpoints: Mapping[str, core_pb2.Endpoints],
) -> Target:
    svc_ref = backend.service
    if not backend.HasField("service"):
        ref = backend.resource
        return Target(f"{namespace}/{ref.kind}/{ref.name}", ())
    port_ref = svc_ref.port.name or str(svc_ref.port.number)
    name = f"{namespace}/{svc_ref.name}"
    key = f"{name}:{port_ref}"
    svc = services.get(name)
    if svc is None:
        return Target(key, ())
    for p in svc.spec.ports:
        chosen = p.name == svc_ref.port.name if svc_ref.port.name else p.port == svc_ref.port.number
        if chosen and (p.protocol or "TCP") == "TCP":
            return Target(key, ready_backends(endpoints.get(name), p.name, "TCP"))
    return Target(key, ())


def _certificate(secret: core_pb2.Secret | None) -> Certificate | None:
    if secret is None or TLS_CERT not in secret.data or TLS_KEY not in secret.data:
        return None
    cert, key = bytes(secret.data[TLS_CERT]), bytes(secret.data[TLS_KEY])
    if b"-----BEGIN" not in cert or b"-----BEGIN" not in key:
        return None
    return Certificate(f"{secret.metadata.namespace}/{secret.metadata.name}", cert, key)


def build_table(
    all_ingresses: Iterable[networking_pb2.Ingress],
    classes: Iterable[networking_pb2.IngressClass],
    services: Mapping[str, core_pb2.Service],
    endpoints: Mapping[str, core_pb2.Endpoints],
    secrets: Mapping[str, core_pb2.Secret],
) -> IngressTable:
    """The routes of every Ingress of a Tugboat class; the maps are keyed "ns/name"."""
    by_name = {c.metadata.name: c for c in classes}
    ours = [
        i
        for i in all_ingresses
        if ingresses.is_ours(i, by_name) and not i.metadata.deletion_timestamp
    ]
    served = sorted(
        ours, key=lambda i: (i.metadata.creation_timestamp, i.metadata.namespace, i.metadata.name)
    )
    table = IngressTable()
    for ing in served:
        ns = ing.metadata.namespace
        ing_key = f"{ns}/{ing.metadata.name}"
        spec = ing.spec
        if spec.HasField("default_backend") and table.default is None:
            target = _target(ns, spec.default_backend, services, endpoints)
            table.default = Route("/", PREFIX, target, ing_key)
        for rule in spec.rules:
            if rule.host.startswith("*."):
                routes = table.wildcard.setdefault(rule.host[2:], [])
            elif rule.host:
                routes = table.exact.setdefault(rule.host, [])
            else:
                routes = table.any_host
            for p in rule.http.paths:
                path_type = p.path_type if p.path_type in (EXACT, PREFIX) else PREFIX
                target = _target(ns, p.backend, services, endpoints)
                routes.append(Route(p.path or "/", path_type, target, ing_key))
        for tls in spec.tls:
            cert = _certificate(secrets.get(f"{ns}/{tls.secret_name}")) if tls.secret_name else None
            if cert is None:
                continue
            for host in tls.hosts:
                table.certificates.setdefault(host, cert)
            if not tls.hosts and table.default_certificate is None:
                table.default_certificate = cert
    # Stable: at equal rank the older Ingress (and the earlier path) keeps precedence.
    for routes in (*table.exact.values(), *table.wildcard.values(), table.any_host):
        routes.sort(key=lambda r: r.rank, reverse=True)
    table.ingresses = tuple(sorted(f"{i.metadata.namespace}/{i.metadata.name}" for i in served))
    return table

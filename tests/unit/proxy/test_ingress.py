"""The ingress route table: the route a host and path reach, the certificate an SNI name gets."""

from __future__ import annotations

from typing import Any

import pytest

from client.codec import from_dict
from proto import core_pb2, networking_pb2
from proxy.ingress import IngressTable, build_table, host_of, path_matches
from proxy.table import Backend

CLASSES = [
    from_dict(
        networking_pb2.IngressClass,
        {"metadata": {"name": "tugboat"}, "spec": {"controller": "tugboat.io/ingress"}},
    ),
    from_dict(
        networking_pb2.IngressClass,
        {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}},
    ),
]


def backend(service: str, port: int | str = 80) -> dict[str, Any]:
    ref = {"name": port} if isinstance(port, str) else {"number": port}
    return {"service": {"name": service, "port": ref}}


def ingress(name: str, spec: dict[str, Any], created: str = "2025-01-01T00:00:00Z") -> Any:
    spec = {"ingressClassName": "tugboat", **spec}
    meta = {"name": name, "namespace": "default", "creationTimestamp": created}
    return from_dict(networking_pb2.Ingress, {"metadata": meta, "spec": spec})


def rule(host: str, *paths: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "host": host,
        "http": {
            "paths": [{"path": p, "pathType": t, "backend": backend(svc)} for p, t, svc in paths]
        },
    }


def services(*names: str) -> dict[str, core_pb2.Service]:
    found = {}
    for i, name in enumerate(names):
        found[f"default/{name}"] = from_dict(
            core_pb2.Service,
            {
                "metadata": {"name": name, "namespace": "default"},
                "spec": {
                    "clusterIP": f"172.30.255.{i + 1}",
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
                },
            },
        )
    return found


def endpoints(name: str, *ips: str) -> dict[str, core_pb2.Endpoints]:
    obj = from_dict(
        core_pb2.Endpoints,
        {
            "metadata": {"name": name, "namespace": "default"},
            "subsets": [
                {
                    "addresses": [{"ip": ip} for ip in ips],
                    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                }
            ],
        },
    )
    return {f"default/{name}": obj}


def table_of(*ings: Any, secrets: dict[str, core_pb2.Secret] | None = None) -> IngressTable:
    svcs = services("a", "b", "c", "d", "fallback")
    eps = {
        **endpoints("a", "10.0.0.1"),
        **endpoints("b", "10.0.0.2", "10.0.0.3"),
        **endpoints("c", "10.0.0.4"),
        **endpoints("d", "10.0.0.5"),
        **endpoints("fallback", "10.0.0.9"),
    }
    return build_table(ings, CLASSES, svcs, eps, secrets or {})


@pytest.mark.parametrize(
    ("path_type", "rule_path", "request_path", "matches"),
    [
        # Kubernetes' examples table (concepts/services-networking/ingress#examples).
        ("Prefix", "/", "/anything", True),
        ("Exact", "/foo", "/foo", True),
        ("Exact", "/foo", "/bar", False),
        ("Exact", "/foo", "/foo/", False),
        ("Exact", "/foo/", "/foo", False),
        ("Prefix", "/foo", "/foo", True),
        ("Prefix", "/foo", "/foo/", True),
        ("Prefix", "/foo/", "/foo", True),
        ("Prefix", "/foo/", "/foo/", True),
        ("Prefix", "/aaa/bb", "/aaa/bbb", False),
        ("Prefix", "/aaa/bbb", "/aaa/bbb", True),
        ("Prefix", "/aaa/bbb/", "/aaa/bbb", True),
        ("Prefix", "/aaa/bbb", "/aaa/bbb/", True),
        ("Prefix", "/aaa/bbb", "/aaa/bbb/ccc", True),
        ("Prefix", "/aaa/bbb", "/aaa/bbbxyz", False),
    ],
)
def test_paths_match_as_kubernetes_defines_exact_and_prefix(
    path_type: str, rule_path: str, request_path: str, matches: bool
) -> None:
    assert path_matches(path_type, rule_path, request_path) is matches


MIXED = ingress(
    "mixed",
    {
        "defaultBackend": backend("fallback"),
        "rules": [
            rule("foo.example.com", ("/", "Prefix", "a"), ("/api", "Prefix", "b")),
            rule("foo.example.com", ("/api/v2", "Exact", "c")),
            rule("*.example.com", ("/", "Prefix", "d")),
            rule("", ("/shop", "ImplementationSpecific", "c")),
        ],
    },
)


@pytest.mark.parametrize(
    ("host", "path", "service"),
    [
        ("foo.example.com", "/", "a"),
        ("foo.example.com", "/index.html", "a"),
        ("foo.example.com", "/api", "b"),
        ("foo.example.com", "/api/v1/users", "b"),
        ("foo.example.com", "/api/v2", "c"),  # the longest match wins
        ("foo.example.com", "/api/v2/x", "b"),  # Exact does not take what is below it
        ("FOO.example.com:8080", "/api", "b"),  # case and port do not count
        ("bar.example.com", "/", "d"),  # one label under the wildcard
        ("a.b.example.com", "/", "fallback"),  # two labels: not the wildcard's
        ("example.com", "/", "fallback"),  # the wildcard's own parent: not covered
        ("other.org", "/shop/cart", "c"),  # a rule without a host takes every host
        ("other.org", "/", "fallback"),
        ("foo.example.com", "/shop", "a"),  # the exact host's "/" takes it first
    ],
)
def test_a_request_reaches_the_most_specific_host_and_longest_path(
    host: str, path: str, service: str
) -> None:
    route = table_of(MIXED).route(host, path)

    assert route is not None
    assert route.target.key.split(":")[0] == f"default/{service}"


def test_no_route_and_no_default_backend_is_none() -> None:
    table = table_of(ingress("only", {"rules": [rule("a.test", ("/x", "Exact", "a"))]}))

    assert table.route("a.test", "/y") is None
    assert table.route("b.test", "/x") is None


def test_routes_go_to_the_ready_endpoints_on_the_target_port_by_number_or_name() -> None:
    by_name = ingress(
        "named",
        {
            "rules": [
                {
                    "host": "n.test",
                    "http": {
                        "paths": [
                            {"path": "/", "pathType": "Prefix", "backend": backend("b", "http")}
                        ]
                    },
                }
            ]
        },
    )
    table = table_of(
        by_name, ingress("numbered", {"rules": [rule("m.test", ("/", "Prefix", "b"))]})
    )

    for host in ("n.test", "m.test"):
        route = table.route(host, "/")
        assert route is not None
        assert route.target.backends == (Backend("10.0.0.2", 8080), Backend("10.0.0.3", 8080))


def test_a_missing_service_or_port_routes_to_no_endpoint() -> None:
    table = table_of(
        ingress("gone", {"rules": [rule("g.test", ("/", "Prefix", "nothere"))]}),
        ingress("badport", {"rules": [{"host": "p.test", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": backend("a", 81)}]}}]}),
    )  # fmt: skip

    for host in ("g.test", "p.test"):
        route = table.route(host, "/")
        assert route is not None and route.target.backends == ()


def test_only_ingresses_of_a_tugboat_class_are_served() -> None:
    theirs = ingress(
        "theirs", {"ingressClassName": "nginx", "rules": [rule("t.test", ("/", "Prefix", "a"))]}
    )
    unknown = ingress(
        "unknown", {"ingressClassName": "gone", "rules": [rule("u.test", ("/", "Prefix", "a"))]}
    )
    ours = ingress("ours", {"rules": [rule("o.test", ("/", "Prefix", "a"))]})

    table = table_of(theirs, unknown, ours)

    assert table.ingresses == ("default/ours",)
    assert table.route("t.test", "/") is None
    assert table.route("o.test", "/") is not None


def test_ingresses_for_one_host_merge_and_the_oldest_default_backend_wins() -> None:
    older = ingress(
        "older",
        {"defaultBackend": backend("a"), "rules": [rule("h.test", ("/one", "Prefix", "b"))]},
        created="2025-01-01T00:00:00Z",
    )
    newer = ingress(
        "newer",
        {"defaultBackend": backend("c"), "rules": [rule("h.test", ("/two", "Prefix", "d"))]},
        created="2025-02-01T00:00:00Z",
    )

    table = table_of(newer, older)

    assert [table.route("h.test", p).target.key for p in ("/one", "/two", "/three")] == [  # type: ignore[union-attr]
        "default/b:80",
        "default/d:80",
        "default/a:80",
    ]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Foo.Example.com", "foo.example.com"),
        ("foo.example.com:8443", "foo.example.com"),
        ("foo.example.com.", "foo.example.com"),
        ("[::1]:80", "[::1]"),
        ("", ""),
    ],
)
def test_the_host_header_is_compared_without_port_case_or_final_dot(header: str, name: str) -> None:
    assert host_of(header) == name


def tls_secret(name: str, cert: bytes = b"-----BEGIN CERTIFICATE-----\n") -> core_pb2.Secret:
    return from_dict(
        core_pb2.Secret,
        {
            "metadata": {"name": name, "namespace": "default"},
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": _b64(cert + name.encode()),
                "tls.key": _b64(b"-----BEGIN PRIVATE KEY-----\n" + name.encode()),
            },
        },
    )


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("server_name", "secret"),
    [
        ("secure.test", "exact"),
        ("SECURE.test", "exact"),
        ("x.wild.test", "wild"),
        ("wild.test", "catchall"),  # the wildcard's parent is not covered
        ("a.b.wild.test", "catchall"),
        ("other.test", "catchall"),
        (None, "catchall"),  # a client without SNI
        ("broken.test", "catchall"),  # its Secret is not a TLS secret
    ],
)
def test_the_certificate_is_chosen_by_sni_name(server_name: str | None, secret: str) -> None:
    ing = ingress(
        "tls",
        {
            "tls": [
                {"hosts": ["secure.test"], "secretName": "exact"},
                {"hosts": ["*.wild.test"], "secretName": "wild"},
                {"hosts": ["broken.test"], "secretName": "broken"},
                {"secretName": "catchall"},
                {"hosts": ["missing.test"], "secretName": "missing"},
            ],
            "rules": [rule("secure.test", ("/", "Prefix", "a"))],
        },
    )
    broken = tls_secret("broken", cert=b"not pem")
    secrets = {f"default/{n}": tls_secret(n) for n in ("exact", "wild", "catchall")}
    secrets["default/broken"] = broken

    chosen = table_of(ing, secrets=secrets).certificate(server_name)

    assert chosen is not None and chosen.secret == f"default/{secret}"


def test_without_certificates_no_name_has_one() -> None:
    assert table_of(MIXED).certificate("foo.example.com") is None

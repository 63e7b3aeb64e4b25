"""The ingress controller in a proxy, on real etcd and a real API server, asked with real curl.

Endpoints are small aiohttp servers on 127.0.0.x that answer with their name, the path
and the Host they were sent; the proxy's ingress listens on its node address at free
ports; curl's `--resolve` sends each host name there, as a user would against a node.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cli.cluster.pki import CertificateAuthority
from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2, networking_pb2
from proxy.ingress_server import IngressServer
from proxy.proxier import Proxier
from tests.integration.proxy.conftest import ProxyFactory, service
from tests.support.ports import free_port
from tests.support.waiting import eventually

NODE = "127.0.0.31"


@dataclass
class HttpBackend:
    """An HTTP endpoint that answers `{"name", "path", "host", "forwarded"}` as JSON."""

    name: str
    ip: str
    port: int = 0
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def answer(request: web.Request) -> web.Response:
            body = await request.read()
            return web.json_response(
                {
                    "name": self.name,
                    "path": request.path_qs,
                    "host": request.headers.get("Host", ""),
                    "forwarded": request.headers.get("X-Forwarded-For", ""),
                    "proto": request.headers.get("X-Forwarded-Proto", ""),
                    "body": body.decode(),
                }
            )

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        self.port = free_port(self.ip)
        await web.TCPSite(self.runner, self.ip, self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def http_backends() -> AsyncIterator[dict[str, list[HttpBackend]]]:
    """Service name -> its endpoints: "web" has two, "api" one."""
    made = {
        "web": [HttpBackend("web-0", "127.0.0.41"), HttpBackend("web-1", "127.0.0.42")],
        "api": [HttpBackend("api-0", "127.0.0.43")],
    }
    try:
        for group in made.values():
            for b in group:
                await b.start()
        yield made
    finally:
        for group in made.values():
            for b in group:
                await b.stop()


@dataclass
class Ingress:
    server: IngressServer
    proxier: Proxier

    @property
    def http(self) -> int:
        return self.server.ports["http"]

    @property
    def https(self) -> int:
        return self.server.ports["https"]


@pytest.fixture
async def ingress(api: ApiClient, proxies: ProxyFactory) -> AsyncIterator[Ingress]:
    """A proxy on NODE with its ingress controller on free ports, as tug-proxy runs it."""
    proxier = await proxies.start(NODE, sync_period=1.0)
    server = IngressServer.for_proxy(
        dataclasses.replace(proxier.settings, ingress_http_port=0, ingress_https_port=0),
        api,
        proxier.services,
        proxier.endpoints,
    )
    assert server is not None
    await server.start()
    try:
        await eventually(lambda: len(server.ports) == 2, what="the ingress listening")
        yield Ingress(server, proxier)
    finally:
        await server.stop()


async def put_service(api: ApiClient, name: str, backends: list[HttpBackend]) -> None:
    """A Service with one port named "http" (80), and its Endpoints: `backends` ready."""
    svc = service(name, ports=[core_pb2.ServicePort(name="http", port=80, protocol="TCP")])
    await api.create(svc)
    ep = core_pb2.Endpoints()
    ep.metadata.name, ep.metadata.namespace = name, "default"
    for b in backends:
        subset = ep.subsets.add()
        subset.addresses.add(ip=b.ip)
        subset.ports.add(name="http", port=b.port, protocol="TCP")
    await api.create(ep)


def curl(*args: str) -> tuple[int, str]:
    """(HTTP status, body) of one real curl."""
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    body, _, code = done.stdout.rpartition("\n")
    return int(code or 0), body


async def get(ing: Ingress, host: str, path: str, *extra: str) -> tuple[int, str]:
    url = f"http://{host}:{ing.http}{path}"
    return await asyncio.to_thread(curl, "--resolve", f"{host}:{ing.http}:{NODE}", *extra, url)


def answered_by(result: tuple[int, str]) -> str:
    code, body = result
    return str(json.loads(body)["name"]) if code == 200 else f"HTTP {code}"


def web_ingress(name: str, spec: dict[str, Any]) -> networking_pb2.Ingress:
    return from_dict(
        networking_pb2.Ingress, {"metadata": {"name": name, "namespace": "default"}, "spec": spec}
    )


def path(p: str, service_name: str, path_type: str = "Prefix") -> dict[str, Any]:
    return {
        "path": p,
        "pathType": path_type,
        "backend": {"service": {"name": service_name, "port": {"number": 80}}},
    }


TWO_RULES = {
    "rules": [
        {"host": "web.test", "http": {"paths": [path("/", "web")]}},
        {
            "host": "shop.test",
            "http": {"paths": [path("/", "web"), path("/api", "api"), path("/v2", "api", "Exact")]},
        },
    ]
}


async def test_two_rules_route_to_two_services_by_host_and_by_path(
    api: ApiClient,
    ingress: Ingress,
    http_backends: dict[str, list[HttpBackend]],
    tmp_path: Path,
) -> None:
    await put_service(api, "web", http_backends["web"])
    await put_service(api, "api", http_backends["api"])
    created = await api.create(web_ingress("shop", TWO_RULES))
    # No class named: the default IngressClass the API server made at start is set.
    assert created.spec.ingress_class_name == "tugboat"

    async def routed() -> bool:
        return answered_by(await get(ingress, "shop.test", "/api/items")) == "api-0"

    await eventually(routed, what="the Ingress served")
    code, body = await get(ingress, "shop.test", "/api/items?page=2")
    seen = json.loads(body)
    assert (seen["path"], seen["host"]) == ("/api/items?page=2", f"shop.test:{ingress.http}")
    assert seen["forwarded"] == "127.0.0.1" and seen["proto"] == "http"
    assert answered_by(await get(ingress, "shop.test", "/apiary")) in ("web-0", "web-1")
    assert answered_by(await get(ingress, "shop.test", "/v2")) == "api-0"
    assert answered_by(await get(ingress, "shop.test", "/v2/x")) in ("web-0", "web-1")
    # By host: web.test has only "/" to web; both of its endpoints take turns.
    names = {answered_by(await get(ingress, "web.test", "/api")) for _ in range(6)}
    assert names == {"web-0", "web-1"}
    # Nothing for this host, no default backend: 404.
    assert (await get(ingress, "other.test", "/"))[0] == 404
    # A body is streamed through.
    code, body = await get(ingress, "shop.test", "/api/post", "--data-binary", "hello")
    assert code == 200 and json.loads(body)["body"] == "hello"
    # A client that waits for 100 Continue before its body gets it from the proxy.
    big = tmp_path / "big"
    big.write_text("x" * 300_000)
    code, body = await get(
        ingress, "shop.test", "/api/post", "-H", "Expect: 100-continue", "--data-binary", f"@{big}"
    )
    assert code == 200 and json.loads(body)["body"] == big.read_text()


async def test_routes_follow_ingress_and_endpoint_changes_without_a_restart(
    api: ApiClient, ingress: Ingress, http_backends: dict[str, list[HttpBackend]]
) -> None:
    await put_service(api, "web", http_backends["web"])
    await put_service(api, "api", http_backends["api"])
    await api.create(
        web_ingress("site", {"rules": [{"host": "a.test", "http": {"paths": [path("/", "web")]}}]})
    )

    async def answers(expected: str, host: str = "a.test", p: str = "/") -> bool:
        return answered_by(await get(ingress, host, p)).startswith(expected)

    await eventually(lambda: answers("web"), what="a.test served by web")

    # A wildcard rule and a default backend added to the running Ingress.
    current: Any = await api.get("ingresses", "default", "site")
    current.spec.rules.add().CopyFrom(
        from_dict(
            networking_pb2.IngressRule,
            {"host": "*.wild.test", "http": {"paths": [path("/", "api")]}},
        )
    )
    current.spec.default_backend.CopyFrom(
        from_dict(
            networking_pb2.IngressBackend, {"service": {"name": "api", "port": {"number": 80}}}
        )
    )
    await api.update(current)
    await eventually(lambda: answers("api", "x.wild.test"), what="the wildcard rule served")
    assert answered_by(await get(ingress, "nothing.test", "/")) == "api-0"

    # The api Service loses its only ready endpoint: 503, then it comes back.
    ep: Any = await api.get("endpoints", "default", "api")
    saved = list(ep.subsets)
    del ep.subsets[:]
    await api.update(ep)
    await eventually(
        lambda: answers("HTTP 503", "x.wild.test"), what="503 without a ready endpoint"
    )
    ep = await api.get("endpoints", "default", "api")
    ep.subsets.extend(saved)
    await api.update(ep)
    await eventually(lambda: answers("api", "x.wild.test"), what="the endpoint back")
    # An endpoint that refuses (nothing listens on its port): 502.
    ep = await api.get("endpoints", "default", "api")
    ep.subsets[0].ports[0].port = free_port("127.0.0.43")
    await api.update(ep)
    await eventually(lambda: answers("HTTP 502", "x.wild.test"), what="502 from a dead endpoint")

    # An Ingress of another controller's class is not served.
    await api.delete("ingresses", "default", "site")
    await eventually(lambda: answers("HTTP 404"), what="the deleted Ingress gone")
    other = from_dict(
        networking_pb2.IngressClass,
        {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}},
    )
    await api.create(other)
    spec = {
        "ingressClassName": "nginx",
        "rules": [{"host": "a.test", "http": {"paths": [path("/", "web")]}}],
    }
    await api.create(web_ingress("theirs", spec))
    await eventually(
        lambda: ingress.server.syncs > 0 and "default/theirs" not in ingress.server.table.ingresses
    )
    assert (await get(ingress, "a.test", "/"))[0] == 404


def tls_secret(name: str, cert: bytes, key: bytes) -> core_pb2.Secret:
    return from_dict(
        core_pb2.Secret,
        {
            "metadata": {"name": name, "namespace": "default"},
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": base64.b64encode(cert).decode(),
                "tls.key": base64.b64encode(key).decode(),
            },
        },
    )


async def test_https_uses_the_secret_of_the_sni_name_and_routes_like_http(
    api: ApiClient,
    ingress: Ingress,
    http_backends: dict[str, list[HttpBackend]],
    tmp_path: Path,
) -> None:
    await put_service(api, "web", http_backends["web"])
    await put_service(api, "api", http_backends["api"])
    ca = CertificateAuthority.create("test ingress CA")
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    secure = ca.issue("secure.test", server=True, hosts=["secure.test"])
    wild = ca.issue("*.wild.test", server=True, hosts=["*.wild.test"])
    await api.create(tls_secret("secure-tls", secure.cert, secure.key))
    await api.create(tls_secret("wild-tls", wild.cert, wild.key))
    spec = {
        "tls": [
            {"hosts": ["secure.test"], "secretName": "secure-tls"},
            {"hosts": ["*.wild.test"], "secretName": "wild-tls"},
        ],
        "rules": [
            {"host": "secure.test", "http": {"paths": [path("/", "web")]}},
            {"host": "*.wild.test", "http": {"paths": [path("/", "api")]}},
        ],
    }
    await api.create(web_ingress("tls", spec))

    async def https(host: str, *extra: str) -> tuple[int, str]:
        port = ingress.https
        return await asyncio.to_thread(
            curl,
            "--cacert",
            str(tmp_path / "ca.crt"),
            "--resolve",
            f"{host}:{port}:{NODE}",
            *extra,
            f"https://{host}:{port}/",
        )

    async def verified(host: str, service_name: str) -> bool:
        return answered_by(await https(host)).startswith(service_name)

    await eventually(lambda: verified("secure.test", "web"), what="secure.test over verified TLS")
    await eventually(lambda: verified("a.wild.test", "api"), what="the wildcard certificate")
    code, body = await https("secure.test")
    assert json.loads(body)["proto"] == "https"
    # A name no Secret covers gets the self-signed default certificate: curl refuses it.
    code, _ = await https("plain.test")
    assert code == 0
    code, _ = await https("plain.test", "--insecure")
    assert code == 404

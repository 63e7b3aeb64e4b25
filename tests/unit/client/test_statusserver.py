"""The status server answers /healthz, /readyz, /metrics and the routes its daemon adds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from client.statusserver import StatusServer
from client.timeouts import within


async def _request(port: int, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await within(reader.read(), 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


class Readiness:
    reason: str | None = None

    async def __call__(self) -> str | None:
        return self.reason


@pytest.fixture
async def served() -> AsyncIterator[tuple[StatusServer, Readiness]]:
    registry = CollectorRegistry()
    Counter("tugboat_test_things_total", "Things.", registry=registry).inc(3)
    ready = Readiness()
    server = StatusServer("127.0.0.1", 0, registry=registry, ready=ready)

    async def targets(request: web.Request) -> web.Response:
        return web.json_response([{"targets": [request.query.get("node", "")]}])

    server.add_routes([web.get("/targets", targets)])
    await server.start()
    try:
        yield server, ready
    finally:
        await server.stop()


@pytest.mark.parametrize("path", [b"/healthz", b"/livez"])
async def test_healthz_and_livez_answer_ok(served, path):
    server, _ = served
    request = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert await _request(server.port, request) == (200, b"ok\n")


async def test_readyz_answers_503_with_the_reason_until_ready(served):
    server, ready = served
    ready.reason = "etcd unreachable"
    status, body = await _request(server.port, b"GET /readyz HTTP/1.0\r\n\r\n")
    assert (status, body) == (503, b"not ready: etcd unreachable\n")
    ready.reason = None
    assert (await _request(server.port, b"GET /readyz HTTP/1.0\r\n\r\n"))[0] == 200


async def test_metrics_serve_the_registry_in_prometheus_text(served):
    server, _ = served
    status, body = await _request(server.port, b"GET /metrics HTTP/1.0\r\n\r\n")
    assert status == 200
    assert b"tugboat_test_things_total 3.0" in body


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /elsewhere HTTP/1.0\r\n\r\n", 404),
        (b"POST /healthz HTTP/1.0\r\n\r\n", 405),
        (b"nonsense\r\n\r\n", 400),
    ],
    ids=["unknown-path", "wrong-method", "malformed"],
)
async def test_other_requests_get_a_clear_http_error(served, raw, status):
    server, _ = served
    assert (await _request(server.port, raw))[0] == status


async def test_head_answers_the_headers_without_a_body(served):
    server, _ = served
    status, body = await _request(server.port, b"HEAD /healthz HTTP/1.0\r\n\r\n")
    assert (status, body) == (200, b"")


async def test_a_route_the_daemon_added_is_served_beside_the_status_paths(served):
    server, _ = served
    status, body = await _request(server.port, b"GET /targets?node=n1 HTTP/1.0\r\n\r\n")
    assert (status, body) == (200, b'[{"targets": ["n1"]}]')


async def test_routes_cannot_be_added_once_serving(served):
    server, _ = served

    async def late(_request: web.Request) -> web.Response:
        return web.Response()

    with pytest.raises(RuntimeError, match="before the status server starts"):
        server.add_routes([web.get("/late", late)])

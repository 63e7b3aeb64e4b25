"""The HTTP status port: /healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import grpc
import pytest

from master.apiserver.server import ApiServer, ApiServerConfig
from tests.integration.apiserver.helpers import configmap, create, stub_for
from tests.support.waiting import eventually


def _fetch(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def _get(port: int, path: str) -> tuple[int, str]:
    return await asyncio.to_thread(_fetch, port, path)


async def test_healthz_and_readyz_answer_ok_when_serving(apiserver):
    port = apiserver.status.port
    assert await _get(port, "/healthz") == (200, "ok\n")
    assert await _get(port, "/readyz") == (200, "ok\n")
    assert (await _get(port, "/nope"))[0] == 404


async def test_metrics_count_requests_by_verb_resource_and_code(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("c"))
        with pytest.raises(grpc.aio.AioRpcError):
            await create(stub, configmap("c"))
    status, text = await _get(apiserver.status.port, "/metrics")
    assert status == 200
    created = 'resource="configmaps",verb="create"'
    assert f'tugboat_apiserver_requests_total{{code="OK",{created}}} 1.0' in text
    assert f'tugboat_apiserver_requests_total{{code="ALREADY_EXISTS",{created}}} 1.0' in text
    assert f"tugboat_apiserver_request_duration_seconds_count{{{created}}} 2.0" in text
    assert 'tugboat_apiserver_etcd_request_duration_seconds_count{operation="txn"}' in text
    assert "# TYPE tugboat_apiserver_watchers gauge" in text


async def test_readyz_fails_when_etcd_is_unreachable(apiserver_factory):
    server = await apiserver_factory.start()
    server.etcd.endpoints[:] = ["127.0.0.1:1"]
    await server.etcd.close()
    server.etcd.timeout = 0.5
    status, body = await _get(server.status.port, "/readyz")
    assert status == 503
    assert "etcd unreachable" in body


async def _ready(port: int) -> bool:
    return await _get(port, "/readyz") == (200, "ok\n")


async def test_readyz_waits_until_the_grpc_port_serves(etcd_clean):
    # The status port opens before the gRPC server, which waits for the CRDs to be read:
    # held there, the server must not call itself ready.
    server = ApiServer(
        ApiServerConfig(
            etcd_servers=list(etcd_clean.endpoints), bind_address="127.0.0.1", port=0, http_port=0
        )
    )
    crds_read = asyncio.Event()

    async def crds_held() -> None:
        await crds_read.wait()
        server.custom_resources.ready.set()
        await asyncio.Event().wait()

    server.custom_resources.run = crds_held  # type: ignore[method-assign]
    starting = asyncio.create_task(server.start())
    try:
        await eventually(
            lambda: server.status is not None and server._bootstrapped, what="bootstrap"
        )
        assert server.status is not None
        status, body = await _get(server.status.port, "/readyz")
        assert status == 503
        assert "gRPC" in body
        crds_read.set()
        await starting
        # Ready once the built-in flow control configuration is in place too.
        status_port = server.status.port
        await eventually(
            lambda: _ready(status_port), what="/readyz 200 once the flow configuration is in"
        )
        async with stub_for(server.endpoint) as stub:
            await create(stub, configmap("served"))
    finally:
        crds_read.set()
        await starting
        await server.stop(grace=0.5)

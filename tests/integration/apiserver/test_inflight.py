"""A saturated API server refuses ordinary requests at once, never Lease renewals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc
import pytest

from client import errors
from client.api import ApiClient
from proto import api_pb2, workloads_pb2
from tests.integration.apiserver.helpers import Held, configmap, create, stub_for
from tests.support.waiting import eventually


@pytest.fixture
async def saturated(apiserver: Any) -> AsyncIterator[tuple[Any, Held, asyncio.Future[Any]]]:
    """The server with room for one ordinary request, and that one taken."""
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("slow"))
        await create(stub, configmap("other"))
        apiserver.service.inflight.limit = 1
        held = Held(apiserver)
        slow = asyncio.ensure_future(
            stub.Get(api_pb2.GetRequest(resource="configmaps", namespace="default", name="slow"))
        )
        entered = asyncio.ensure_future(held.entered.wait())
        await asyncio.wait({entered, slow}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        entered.cancel()
        # Not entered: the request failed (or hung) before the registry, and every test
        # here would wait on it for ever.
        assert held.entered.is_set(), f"the held request never reached the registry: {slow}"
        try:
            yield stub, held, slow
        finally:
            held.release.set()
            await asyncio.gather(slow, return_exceptions=True)


def dropped(server: Any) -> float:
    value = server.metrics.registry.get_sample_value(
        "tugboat_apiserver_dropped_requests_total", {"verb": "get"}
    )
    return float(value or 0)


def lease(name: str) -> workloads_pb2.Lease:
    made = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
    made.metadata.name, made.metadata.namespace = name, "kube-node-lease"
    made.spec.holder_identity = name
    return made


async def test_one_more_ordinary_request_is_refused_at_once_with_a_retry_after(
    apiserver, saturated
):
    stub, _, _ = saturated
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.Get(api_pb2.GetRequest(resource="configmaps", namespace="default", name="other"))
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert isinstance(errors.from_grpc(e.value), errors.TooManyRequests)
    assert dropped(apiserver) == 1


async def test_lease_renewals_go_through_a_saturated_server(saturated):
    stub, _, _ = saturated
    made = await create(stub, lease("node-1"))
    made.spec.renew_time = "2026-12-03T17:00:00.000000Z"
    await stub.Update(
        api_pb2.UpdateRequest(
            resource="leases", namespace="kube-node-lease", object=made.SerializeToString()
        )
    )


async def test_the_client_retries_a_refusal_once_there_is_room(apiserver, saturated):
    _, held, slow = saturated
    async with ApiClient([apiserver.endpoint]) as client:
        waiting = asyncio.create_task(client.get("configmaps", "default", "other"))
        await eventually(lambda: dropped(apiserver) == 1, what="the first attempt refused")
        held.release.set()
        await slow
        got = await waiting
    assert got.metadata.name == "other"


async def test_the_http_api_answers_429_with_retry_after(apiserver, saturated):
    url = f"http://127.0.0.1:{apiserver.status.port}/api/v1/namespaces/default/configmaps/other"
    async with aiohttp.ClientSession() as session, session.get(url) as r:
        body = await r.json()
        assert r.status == 429
        assert r.headers["Retry-After"] == "1"
    assert body["reason"] == "TooManyRequests"


def test_resource_exhausted_without_the_trailer_is_still_too_large():
    error = grpc.aio.AioRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(),
        details="request too large",
        debug_error_string="",
    )
    assert isinstance(errors.from_grpc(error), errors.TooLarge)

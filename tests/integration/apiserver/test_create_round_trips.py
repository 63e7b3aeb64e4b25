"""Etcd requests per write: a create reads everything admission needs in one request and
writes in another; an update of the version the watch cache holds only writes."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from client.kinds import by_resource, decode
from proto import api_pb2
from tests.integration.apiserver.helpers import configmap, create, get, pod, stub_for
from tests.support.waiting import eventually


def etcd_requests(server: Any) -> dict[str, float]:
    counts: dict[str, float] = {}
    for metric in server.metrics.etcd_duration.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                counts[sample.labels["operation"]] = sample.value
    return counts


def added(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}


async def test_a_pod_create_reads_its_namespace_account_limits_and_quotas_in_one_request(
    apiserver,
):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("warm-up"))
        before = etcd_requests(apiserver)
        await create(stub, pod("web"))
        assert added(before, etcd_requests(apiserver)) == {"read": 1, "txn": 1}


async def test_a_configmap_create_likewise_reads_once_and_writes_once(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("warm-up"))
        before = etcd_requests(apiserver)
        await create(stub, configmap("settings"))
        assert added(before, etcd_requests(apiserver)) == {"read": 1, "txn": 1}


async def test_an_update_of_the_version_the_watch_cache_holds_writes_without_reading(apiserver):
    cache = await apiserver.service.watch_cache.cacher(by_resource("configmaps"))
    assert cache is not None
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("settings", colour="blue"))
        await eventually(lambda: cache.revision >= int(made.metadata.resource_version))
        made.data["colour"] = "red"
        before = etcd_requests(apiserver)
        updated = await update(stub, made)
        assert added(before, etcd_requests(apiserver)) == {"txn": 1}
        assert updated.data["colour"] == "red"
        # The version it was based on is gone now: a Conflict, and nothing written.
        made.data["colour"] = "green"
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await update(stub, made)
        assert e.value.code() == grpc.StatusCode.ABORTED
        assert (await get(stub, "configmaps", "default", "settings")).data["colour"] == "red"


async def update(stub: Any, obj: Any) -> Any:
    resp = await stub.Update(
        api_pb2.UpdateRequest(
            resource="configmaps", namespace="default", object=obj.SerializeToString()
        )
    )
    return decode("configmaps", resp.object)

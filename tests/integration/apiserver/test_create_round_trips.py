"""Etcd requests per write: a create whose admission reads are in the watch cache only
writes (and reads everything in one request when they are not); a cache behind etcd never
decides a create; an update of the version the watch cache holds only writes."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from client.kinds import by_resource, decode
from proto import api_pb2, core_pb2, policy_pb2
from tests.integration.apiserver.helpers import configmap, create, delete, get, pod, stub_for
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


ADMISSION_KINDS = ("namespaces", "serviceaccounts", "limitranges", "resourcequotas")


async def cached_admission(server: Any) -> None:
    """Wait until every kind a pod's admission reads is in the server's watch cache."""
    for resource in ADMISSION_KINDS:
        assert await server.service.watch_cache.cacher(by_resource(resource)) is not None


async def caught_up(server: Any, resource: str, revision: int) -> Any:
    cacher = await server.service.watch_cache.cacher(by_resource(resource))
    await eventually(lambda: cacher.revision >= revision, what=f"the {resource} cache")
    return cacher


async def test_a_create_whose_admission_reads_are_cached_is_one_etcd_transaction(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await cached_admission(apiserver)
        await create(stub, configmap("warm-up"))
        for made in (pod("web"), configmap("settings")):
            before = etcd_requests(apiserver)
            await create(stub, made)
            assert added(before, etcd_requests(apiserver)) == {"txn": 1}


async def test_without_the_cache_a_pod_create_reads_everything_in_one_request(apiserver):
    apiserver.service.watch_cache.enabled = False
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("warm-up"))
        for made in (pod("web"), configmap("settings")):
            before = etcd_requests(apiserver)
            await create(stub, made)
            assert added(before, etcd_requests(apiserver)) == {"read": 1, "txn": 1}


async def test_a_quota_the_cache_has_not_seen_yet_still_refuses_a_create(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await cached_admission(apiserver)
        quotas = await caught_up(apiserver, "resourcequotas", 0)
        seen = quotas.revision
        made = await create(stub, quota("one-pod", pods="1"))
        cacher = await caught_up(apiserver, "resourcequotas", int(made.metadata.resource_version))
        # The cache falls behind: as far as it knows, there is no quota.
        cacher.store.clear()
        cacher.revision = seen
        await create(stub, pod("first"))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await create(stub, pod("second"))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "exceeded quota: one-pod" in (refused.value.details() or "")


async def test_a_limit_range_deleted_behind_the_cache_no_longer_applies(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await cached_admission(apiserver)
        made = await create(stub, limit_range("defaults", cpu="250m"))
        cacher = await caught_up(apiserver, "limitranges", int(made.metadata.resource_version))
        stale = dict(cacher.store)
        await delete(stub, "limitranges", "default", "defaults")
        await eventually(lambda: not cacher.store, what="the cache to see the delete")
        # The cache falls behind: it still holds the deleted LimitRange.
        cacher.store.update(stale)
        web = await create(stub, pod("web"))
        assert not web.spec.containers[0].resources.limits


async def test_a_namespace_terminating_behind_the_cache_refuses_a_create(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await cached_admission(apiserver)
        made = await create(stub, namespace("doomed", finalizer="example.com/hold"))
        cacher = await caught_up(apiserver, "namespaces", int(made.metadata.resource_version))
        key = next(k for k in cacher.store if k.endswith(b"/doomed"))
        active = cacher.store[key]
        await delete(stub, "namespaces", "", "doomed")
        await eventually(
            lambda: cacher.store[key].metadata.deletion_timestamp, what="the cache to see it"
        )
        # The cache falls behind: the namespace still looks active there.
        cacher.store[key] = active
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await create(stub, configmap("late", namespace="doomed"))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "because it is being terminated" in (refused.value.details() or "")


def quota(name: str, **hard: str) -> policy_pb2.ResourceQuota:
    q = policy_pb2.ResourceQuota(api_version="v1", kind="ResourceQuota")
    q.metadata.name, q.metadata.namespace = name, "default"
    q.spec.hard.update(hard)
    return q


def limit_range(name: str, cpu: str) -> policy_pb2.LimitRange:
    lr = policy_pb2.LimitRange(api_version="v1", kind="LimitRange")
    lr.metadata.name, lr.metadata.namespace = name, "default"
    item = lr.spec.limits.add(type="Container")
    item.default["cpu"] = cpu
    return lr


def namespace(name: str, finalizer: str) -> core_pb2.Namespace:
    ns = core_pb2.Namespace(api_version="v1", kind="Namespace")
    ns.metadata.name = name
    ns.metadata.finalizers.append(finalizer)
    return ns


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

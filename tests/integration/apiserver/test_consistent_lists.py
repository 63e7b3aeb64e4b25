"""Lists on a real API server and etcd, by resourceVersion as Kubernetes serves them: a
consistent list ("") is answered from the watch cache once the cache holds etcd's
current revision (a fenced kubelet's re-list of its pods decoded every pod of the
cluster when it read etcd), a kind nobody writes catches up by a progress notification,
a cache that cannot catch up sends the list to etcd, and the gRPC front takes the same
resourceVersion rules as the REST one.

Consistent lists come from the cache only on an etcd whose progress notifications are
ordered after the events they cover; the machine's etcd (3.4.23) is older, so the tests
of the cache's path turn it on themselves (`from_cache`), and one test shows the choice
follows etcd's version.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from client.kinds import by_resource, decode
from client.timeouts import within
from master.apiserver import objects, watchcache
from master.apiserver.listing import list_objects
from master.apiserver.selection import parse
from proto import api_pb2
from tests.integration.apiserver.helpers import configmap, create, pod, stub_for
from tests.support.waiting import eventually

CONFIGMAPS = by_resource("configmaps")
PODS = by_resource("pods")


def collection_reads(server: Any, monkeypatch: pytest.MonkeyPatch, kind: Any) -> list[bytes]:
    """The start key of every etcd range the server reads inside `kind`'s collection from
    now on (a list from etcd); the revision reads (a count of no keys) are left out."""
    reads: list[bytes] = []
    prefix = objects.collection_prefix(kind)
    real: Callable[..., Awaitable[Any]] = server.etcd.range

    async def recording(start: bytes, *args: Any, **kwargs: Any) -> Any:
        if start.startswith(prefix):
            reads.append(start)
        return await real(start, *args, **kwargs)

    monkeypatch.setattr(server.etcd, "range", recording)
    return reads


@pytest.fixture
def from_cache(apiserver: Any) -> Any:
    """The API server, with consistent lists from its cache whatever etcd's version."""
    watch_cache = apiserver.service.watch_cache
    watch_cache.consistent_reads = True
    for cacher in watch_cache.cachers.values():  # those the server started already
        cacher.progress_moves_revision = True
    return apiserver


async def ready_cache(server: Any, kind: Any) -> Any:
    cacher = await server.service.watch_cache.cacher(kind)
    assert cacher is not None
    return cacher


async def names(stub: Any, resource: str, **fields: Any) -> tuple[list[str], int]:
    listed = await stub.List(api_pb2.ListRequest(resource=resource, **fields))
    items = [decode(resource, raw).metadata.name for raw in listed.items]
    return items, int(listed.resource_version)


@pytest.mark.usefixtures("from_cache")
async def test_a_consistent_list_right_after_a_write_is_answered_from_the_cache_and_holds_it(
    apiserver, monkeypatch
):
    await ready_cache(apiserver, CONFIGMAPS)
    reads = collection_reads(apiserver, monkeypatch, CONFIGMAPS)
    async with stub_for(apiserver.endpoint) as stub:
        for name in ("a", "b", "c"):
            made = await create(stub, configmap(name))
            listed, revision = await names(stub, "configmaps", namespace="default")
            assert name in listed
            assert revision >= int(made.metadata.resource_version)
    assert reads == []


@pytest.mark.usefixtures("from_cache")
async def test_a_consistent_list_of_a_kind_nobody_writes_catches_up_by_a_progress_notification(
    apiserver, monkeypatch
):
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("only"))
        cacher = await ready_cache(apiserver, CONFIGMAPS)
        written = int(made.metadata.resource_version)
        await eventually(lambda: cacher.revision >= written, what="the cache has the map")
        # Writes of another kind move etcd's revision past everything the cache has heard.
        for i in range(5):
            await create(stub, pod(f"p{i}"))
        behind = cacher.revision
        assert await apiserver.etcd.revision() > behind
        reads = collection_reads(apiserver, monkeypatch, CONFIGMAPS)
        listed, revision = await names(stub, "configmaps")
    assert listed == ["only"]
    assert revision > behind
    assert reads == []


@pytest.mark.usefixtures("from_cache")
async def test_a_consistent_list_reads_etcd_when_the_cache_cannot_reach_its_revision(
    apiserver, monkeypatch
):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("kept"))
        await ready_cache(apiserver, CONFIGMAPS)
        real = apiserver.etcd.revision

        async def ahead() -> int:
            return int(await real()) + 1_000

        monkeypatch.setattr(apiserver.etcd, "revision", ahead)
        monkeypatch.setattr(watchcache, "CONSISTENT_READ_SECONDS", 0.5)
        reads = collection_reads(apiserver, monkeypatch, CONFIGMAPS)
        listed, _ = await names(stub, "configmaps")
    assert listed == ["kept"]
    assert reads != []


@pytest.mark.usefixtures("from_cache")
async def test_a_kubelets_list_of_its_pods_from_the_cache_follows_binds_and_deletes(
    apiserver, monkeypatch
):
    cacher = await ready_cache(apiserver, PODS)
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, pod("early", node="node-1"))
        waiting = await create(stub, pod("waiting"))
        await create(stub, pod("elsewhere", node="node-2"))
        waiting.spec.node_name = "node-1"
        await stub.Update(
            api_pb2.UpdateRequest(
                resource="pods", namespace="default", object=waiting.SerializeToString()
            )
        )
        await stub.Delete(
            api_pb2.DeleteRequest(
                resource="pods", namespace="default", name="early", grace_period_seconds=0
            )
        )
        reads = collection_reads(apiserver, monkeypatch, PODS)
        on_node = {
            node: (await names(stub, "pods", field_selector=f"spec.nodeName={node}"))[0]
            for node in ("node-1", "node-2", "node-3", "")
        }
    assert on_node == {
        "node-1": ["waiting"],
        "node-2": ["elsewhere"],
        "node-3": [],
        "": [],
    }
    assert reads == []
    monkeypatch.undo()
    # The index agrees with etcd for every node.
    for node in ("node-1", "node-2", ""):
        selection = parse("", f"spec.nodeName={node}")
        page = await list_objects(apiserver.etcd, PODS, "", selection)
        cached, _ = cacher.snapshot("", selection)
        assert [p.metadata.name for p in cached] == [p.metadata.name for p in page.items]


async def test_a_list_not_older_than_a_revision_the_cache_has_not_reached_waits_for_the_cache(
    apiserver, monkeypatch
):
    # A reconnecting kubelet's list of its pods, at its renewed Lease's revision: other
    # kinds' writes have moved etcd past the pods cache, and the next pod write brings the
    # cache there. On this machine's etcd a consistent list would read every pod from etcd.
    cacher = await ready_cache(apiserver, PODS)
    waiting = asyncio.Event()
    real_wait = cacher.wait_fresh

    async def wait_fresh(revision: int, timeout: float) -> bool:
        waiting.set()
        # The path is under test, not the server's 1 s patience: on a loaded machine the
        # next write can take longer than that to reach the cache.
        return bool(await real_wait(revision, max(timeout, 10.0)))

    monkeypatch.setattr(cacher, "wait_fresh", wait_fresh)
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, pod("before", node="node-1"))
        lease = await create(stub, configmap("renewed-lease"))
        renewed = int(lease.metadata.resource_version)
        assert cacher.revision < renewed
        reads = collection_reads(apiserver, monkeypatch, PODS)
        listing = asyncio.create_task(
            names(
                stub,
                "pods",
                field_selector="spec.nodeName=node-1",
                resource_version=str(renewed),
                resource_version_match="NotOlderThan",
            )
        )
        await within(waiting.wait(), 5.0)
        await create(stub, pod("after", node="node-1"))
        listed, revision = await within(listing, 15.0)
    assert listed == ["after", "before"]
    assert revision > renewed
    assert reads == []


async def test_a_list_not_older_than_a_revision_the_cache_does_not_reach_reads_etcd(
    apiserver, monkeypatch
):
    cacher = await ready_cache(apiserver, PODS)
    monkeypatch.setattr(watchcache, "NOT_OLDER_THAN_SECONDS", 0.3)
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, pod("only", node="node-1"))
        lease = await create(stub, configmap("renewed-lease"))
        renewed = int(lease.metadata.resource_version)
        reads = collection_reads(apiserver, monkeypatch, PODS)
        listed, revision = await names(
            stub,
            "pods",
            field_selector="spec.nodeName=node-1",
            resource_version=str(renewed),
            resource_version_match="NotOlderThan",
        )
    assert listed == ["only"]
    assert revision >= renewed > cacher.revision
    assert reads != []


async def test_a_grpc_list_takes_resource_version_as_the_rest_list_does(apiserver, monkeypatch):
    async with stub_for(apiserver.endpoint) as stub:
        first = await create(stub, configmap("first"))
        await create(stub, configmap("second"))
        await ready_cache(apiserver, CONFIGMAPS)
        exact, revision = await names(
            stub,
            "configmaps",
            resource_version=first.metadata.resource_version,
            resource_version_match="Exact",
        )
        assert (exact, revision) == (["first"], int(first.metadata.resource_version))
        any_version, _ = await names(stub, "configmaps", resource_version="0")
        assert any_version == ["first", "second"]
        refusals = {
            "x": 'resourceVersion: Invalid value: "x"',
            "0": 'resourceVersionMatch "Exact" is forbidden for resourceVersion "0"',
        }
        for version, message in refusals.items():
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await names(
                    stub,
                    "configmaps",
                    resource_version=version,
                    resource_version_match="Exact" if version == "0" else "",
                )
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert message in str(refused.value.details())
        with pytest.raises(grpc.aio.AioRpcError) as future:
            await names(stub, "configmaps", resource_version=str(revision + 1_000_000))
    assert future.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "Too large resource version" in str(future.value.details())


@pytest.mark.parametrize(("version", "cached"), [("3.4.23", False), ("3.5.13", True)])
async def test_consistent_lists_come_from_the_cache_only_where_etcd_orders_its_progress(
    apiserver, monkeypatch, version, cached
):
    async def reported() -> str:
        return str(version)

    monkeypatch.setattr(apiserver.etcd, "version", reported)
    # Decided by this etcd's real version when the server's first cacher started.
    apiserver.service.watch_cache.consistent_reads = None
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("one"))
        await ready_cache(apiserver, CONFIGMAPS)
        reads = collection_reads(apiserver, monkeypatch, CONFIGMAPS)
        listed, _ = await names(stub, "configmaps")
    assert listed == ["one"]
    assert (reads == []) is cached
    assert apiserver.service.watch_cache.consistent_reads is cached


async def test_on_an_etcd_that_rules_out_cache_reads_a_list_starts_no_cacher(
    apiserver, monkeypatch
):
    async def reported() -> str:
        return "3.4.23"

    monkeypatch.setattr(apiserver.etcd, "version", reported)
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("one"))
        listed, _ = await names(stub, "configmaps")
    assert listed == ["one"]
    assert "configmaps" not in apiserver.service.watch_cache.cachers

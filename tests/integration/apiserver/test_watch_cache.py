"""The watch cache: one etcd watch per resource feeds every API watch from memory."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import grpc
import pytest

from client.kinds import by_resource, decode
from master.apiserver import cacher
from master.apiserver.selection import Selection
from proto import api_pb2
from tests.integration.apiserver.helpers import configmap, create, stub_for
from tests.support.apiserver import running_apiserver
from tests.support.etcd import EtcdCluster, start_etcd
from tests.support.waiting import eventually


@pytest.fixture
def own_etcd() -> Iterator[EtcdCluster]:
    """An etcd of this test's own, so that its watcher count is this server's alone."""
    cluster = start_etcd(1)
    try:
        yield cluster
    finally:
        cluster.stop()


def etcd_watchers(etcd: EtcdCluster) -> int:
    """How many watches etcd itself says are open (its own metric)."""
    url = f"http://{etcd.endpoint}/metrics"
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    line = next(x for x in text.splitlines() if x.startswith("etcd_debugging_mvcc_watcher_total "))
    return int(float(line.split()[1]))


async def configmaps_cache(server: Any) -> cacher.Cacher:
    """The server's configmaps cache, once a watch has made it and it has listed."""
    made = await server.service.watch_cache.cacher(by_resource("configmaps"))
    assert isinstance(made, cacher.Cacher)
    return made


async def names_of(watch: Any, count: int) -> list[str]:
    names: list[str] = []
    async with asyncio.timeout(20):
        async for event in watch:
            names.append(decode("configmaps", event.object).metadata.name)
            if len(names) == count:
                break
    return names


async def test_fifty_watchers_of_a_resource_cost_etcd_one_watch_and_each_hears_every_change(
    own_etcd,
):
    async with running_apiserver(own_etcd.endpoints) as server:
        async with stub_for(server.endpoint) as stub:
            start = (await create(stub, configmap("first"))).metadata.resource_version
            watches = [
                stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
                for _ in range(50)
            ]
            await eventually(
                lambda: (
                    len(server.service.watch_cache.cachers["configmaps"].watchers) == 50
                    if "configmaps" in server.service.watch_cache.cachers
                    else False
                ),
                timeout=20,
                what="50 watchers on the cache",
            )
            for i in range(5):
                await create(stub, configmap(f"cm-{i}"))
            heard = await asyncio.gather(*(names_of(w, 5) for w in watches))
            assert etcd_watchers(own_etcd) == 1
            for w in watches:
                w.cancel()
    assert all(names == [f"cm-{i}" for i in range(5)] for names in heard)


async def test_without_the_cache_every_watcher_is_an_etcd_watch_of_its_own(own_etcd):
    async with running_apiserver(own_etcd.endpoints, watch_cache=False) as server:
        async with stub_for(server.endpoint) as stub:
            start = (await create(stub, configmap("first"))).metadata.resource_version
            watches = [
                stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
                for _ in range(5)
            ]
            await create(stub, configmap("seen"))
            await asyncio.gather(*(names_of(w, 1) for w in watches))
            assert etcd_watchers(own_etcd) == 5
            for w in watches:
                w.cancel()


async def test_selectors_and_namespaces_are_judged_per_watcher_on_both_sides_of_a_change(
    apiserver,
):
    async with stub_for(apiserver.endpoint) as stub:
        start = (await create(stub, configmap("first"))).metadata.resource_version
        labelled = stub.Watch(
            api_pb2.WatchRequest(
                resource="configmaps", resource_version=start, label_selector="tier=web"
            )
        )
        other_ns = stub.Watch(
            api_pb2.WatchRequest(
                resource="configmaps", namespace="kube-system", resource_version=start
            )
        )
        web = configmap("web")
        web.metadata.labels["tier"] = "web"
        made = await create(stub, web)
        await create(stub, configmap("plain"))
        made.metadata.labels["tier"] = "db"
        await stub.Update(
            api_pb2.UpdateRequest(
                resource="configmaps", namespace="default", object=made.SerializeToString()
            )
        )
        await create(stub, configmap("sys", namespace="kube-system"))
        events = []
        async with asyncio.timeout(20):
            async for event in labelled:
                events.append((event.type, decode("configmaps", event.object).metadata.name))
                if len(events) == 2:
                    break
        assert events == [("ADDED", "web"), ("DELETED", "web")]
        assert await names_of(other_ns, 1) == ["sys"]
        labelled.cancel()
        other_ns.cancel()


async def test_a_watch_resumes_from_a_revision_in_the_window_even_after_etcd_compacted_it(
    etcd_clean,
):
    async with running_apiserver(etcd_clean.endpoints) as server:
        async with stub_for(server.endpoint) as stub:
            # A first watch makes the cache; it follows etcd from here on.
            first = stub.Watch(api_pb2.WatchRequest(resource="configmaps"))
            cache = await configmaps_cache(server)
            start = (await create(stub, configmap("a"))).metadata.resource_version
            last = (await create(stub, configmap("b"))).metadata.resource_version
            await eventually(lambda: cache.revision >= int(last), what="the cache caught up")
            await server.etcd.compact(int(last))
            resumed = stub.Watch(
                api_pb2.WatchRequest(resource="configmaps", resource_version=start)
            )
            assert await names_of(resumed, 1) == ["b"]
            resumed.cancel()
            first.cancel()


async def test_a_revision_older_than_the_window_and_compacted_is_gone(etcd_clean, monkeypatch):
    monkeypatch.setattr(cacher, "WINDOW", 2)
    async with running_apiserver(etcd_clean.endpoints) as server:
        async with stub_for(server.endpoint) as stub:
            first = stub.Watch(api_pb2.WatchRequest(resource="configmaps"))
            cache = await configmaps_cache(server)
            start = (await create(stub, configmap("a"))).metadata.resource_version
            last = ""
            for i in range(4):
                last = (await create(stub, configmap(f"n-{i}"))).metadata.resource_version
            await eventually(lambda: cache.revision >= int(last), what="the cache caught up")
            assert cache.oldest > int(start)
            await server.etcd.compact(int(last))
            old = stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
            with pytest.raises(grpc.aio.AioRpcError) as e:
                async with asyncio.timeout(20):
                    async for _ in old:
                        pass
            assert e.value.code() == grpc.StatusCode.OUT_OF_RANGE
            first.cancel()


async def test_a_watcher_that_falls_a_queue_behind_is_ended_and_the_others_go_on(
    apiserver, monkeypatch
):
    monkeypatch.setattr(cacher, "QUEUE", 3)
    cache = apiserver.service.watch_cache
    kind_cacher = await cache.cacher(by_resource("configmaps"))
    assert kind_cacher is not None
    slow = kind_cacher.watch("", Selection(), kind_cacher.revision, bookmarks=False)
    async with stub_for(apiserver.endpoint) as stub:
        start = (await create(stub, configmap("zero"))).metadata.resource_version
        brisk = stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
        await eventually(lambda: len(kind_cacher.watchers) == 2, what="both watchers")
        heard = []
        for i in range(6):
            # One at a time, each heard before the next: only the slow one falls behind.
            await create(stub, configmap(f"cm-{i}"))
            heard += await names_of(brisk, 1)
        assert heard == [f"cm-{i}" for i in range(6)]
        brisk.cancel()
    with pytest.raises(Exception) as e:
        async with asyncio.timeout(10):
            async for _ in slow.events():
                pass
    assert "fell too far behind" in str(e.value)
    kind_cacher.forget(slow)


async def test_bookmarks_come_from_the_cache(etcd_clean):
    async with running_apiserver(etcd_clean.endpoints, bookmark_interval=0.2) as server:
        async with stub_for(server.endpoint) as stub:
            made = await create(stub, configmap("a"))
            watch = stub.Watch(
                api_pb2.WatchRequest(
                    resource="configmaps",
                    resource_version=made.metadata.resource_version,
                    allow_bookmarks=True,
                )
            )
            async with asyncio.timeout(20):
                async for event in watch:
                    assert event.type == "BOOKMARK"
                    assert int(event.resource_version) >= int(made.metadata.resource_version)
                    break
            watch.cancel()


async def test_a_list_at_resource_version_0_is_answered_from_memory(apiserver):
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, configmap("a"))
        await create(stub, configmap("b"))
    url = f"http://127.0.0.1:{apiserver.status.port}/api/v1/namespaces/default/configmaps"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params={"resourceVersion": "0"}) as r:
            assert r.status == 200
        ranges_before = _etcd_ranges(apiserver)
        async with session.get(url, params={"resourceVersion": "0"}) as r:
            body = json.loads(await r.text())
        assert _etcd_ranges(apiserver) == ranges_before
        async with session.get(url, params={"resourceVersion": "0", "limit": "1"}) as r:
            paged = json.loads(await r.text())
        async with session.get(
            url, params={"limit": "1", "continue": paged["metadata"]["continue"]}
        ) as r:
            rest = json.loads(await r.text())
    assert [i["metadata"]["name"] for i in body["items"]] == ["a", "b"]
    assert [i["metadata"]["name"] for i in paged["items"]] == ["a"]
    assert [i["metadata"]["name"] for i in rest["items"]] == ["b"]


def _etcd_ranges(server: Any) -> float:
    for metric in server.metrics.etcd_duration.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count") and sample.labels.get("operation") == "range":
                return float(sample.value)
    return 0.0

"""The watch cache: one etcd watch per resource feeds every API watch from memory."""

from __future__ import annotations

import asyncio
import json
import random
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import grpc
import pytest
from aetcd import rpc

from client import errors
from client.kinds import by_resource, decode
from master.apiserver import cacher
from master.apiserver.selection import Selection, parse
from master.apiserver.watchbatch import one_by_one
from master.apiserver.watching import watch_objects
from proto import api_pb2
from tests.integration.apiserver.helpers import configmap, create, pod, stub_for
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


async def servers_own_watches(etcd: EtcdCluster, server: Any) -> Callable[[], int]:
    """How many etcd watches the server holds for itself, counted from now on: its CRDs'
    follower, already there before any client's, and one per cache it makes later (a
    create starts those its admission reads: namespaces, quotas)."""
    crds = await eventually(lambda: etcd_watchers(etcd), what="the server's own watch")
    caches = server.service.watch_cache.cachers
    before = len(caches)
    return lambda: crds + len(caches) - before


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
        servers_own = await servers_own_watches(own_etcd, server)
        async with stub_for(server.endpoint) as stub:
            start = (await create(stub, configmap("first"))).metadata.resource_version
            own = servers_own()
            await eventually(
                lambda: etcd_watchers(own_etcd) == own, what="the admission caches' watches"
            )
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
            assert etcd_watchers(own_etcd) == own + 1
            for w in watches:
                w.cancel()
    assert all(names == [f"cm-{i}" for i in range(5)] for names in heard)


async def test_without_the_cache_every_watcher_is_an_etcd_watch_of_its_own(own_etcd):
    async with running_apiserver(own_etcd.endpoints, watch_cache=False) as server:
        own = await eventually(lambda: etcd_watchers(own_etcd), what="the server's own watch")
        async with stub_for(server.endpoint) as stub:
            start = (await create(stub, configmap("first"))).metadata.resource_version
            watches = [
                stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
                for _ in range(5)
            ]
            await create(stub, configmap("seen"))
            await asyncio.gather(*(names_of(w, 1) for w in watches))
            assert etcd_watchers(own_etcd) == own + 5
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


async def test_a_watch_from_before_the_cache_began_is_handed_from_etcd_to_the_cache(own_etcd):
    async with running_apiserver(own_etcd.endpoints) as server:
        servers_own = await servers_own_watches(own_etcd, server)
        async with stub_for(server.endpoint) as stub:
            start = (await create(stub, configmap("before"))).metadata.resource_version
            await create(stub, configmap("x"))
            cache = await configmaps_cache(server)
            assert cache.oldest > int(start)
            own = servers_own()
            await eventually(lambda: etcd_watchers(own_etcd) == own, what="the caches' watches")
            old = stub.Watch(api_pb2.WatchRequest(resource="configmaps", resource_version=start))
            assert await names_of(old, 1) == ["x"]
            await create(stub, configmap("y"))
            await create(stub, configmap("z"))
            assert await names_of(old, 2) == ["y", "z"]
            await eventually(
                lambda: etcd_watchers(own_etcd) == own, what="the old watch's etcd watch closed"
            )
            assert len(cache.watchers) == 1
            await create(stub, configmap("after"))
            assert await names_of(old, 1) == ["after"]
            old.cancel()


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
            async for _ in one_by_one(slow.batches()):
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


def offers_by_node(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The node of the watcher each change is offered to from now on (None: a watcher of
    every node's pods or another kind)."""
    offered: list[str | None] = []
    offer = cacher.Watcher.offer

    def counting(self: cacher.Watcher, change: cacher.Change) -> None:
        offered.append(self.node)
        offer(self, change)

    monkeypatch.setattr(cacher.Watcher, "offer", counting)
    return offered


async def test_a_kubelets_watch_of_its_node_is_offered_only_its_own_pods(apiserver, monkeypatch):
    offered = offers_by_node(monkeypatch)
    pods = by_resource("pods")
    kind_cacher = await apiserver.service.watch_cache.cacher(pods)
    assert kind_cacher is not None
    watchers = {
        node: kind_cacher.watch(
            "", parse("", f"spec.nodeName={node}"), kind_cacher.revision, bookmarks=False
        )
        for node in (f"node-{i}" for i in range(20))
    }
    async with stub_for(apiserver.endpoint) as stub:
        sent_before = _sample(apiserver, "apiserver_watch_events_total", resource="pods")
        await create(stub, pod("on-3", node="node-3"))
        await create(stub, pod("on-7", node="node-7"))
        heard = {}
        for node in ("node-3", "node-7"):
            async with asyncio.timeout(10):
                async for event in one_by_one(watchers[node].batches()):
                    heard[node] = decode("pods", event.object).metadata.name
                    break
    assert heard == {"node-3": "on-3", "node-7": "on-7"}
    assert sorted(n for n in offered if n is not None) == ["node-3", "node-7"]
    # Two events fanned out in all: the 18 other kubelets' watchers were never offered one.
    assert _sample(apiserver, "apiserver_watch_events_total", resource="pods") == sent_before + 2
    assert sum(len(w) for w in kind_cacher.by_node.values()) == 20
    for watcher in watchers.values():
        kind_cacher.forget(watcher)
    assert not kind_cacher.by_node


async def test_a_watch_from_now_skips_the_window_and_a_nodes_resumed_watch_replays_only_its_pods(
    apiserver, monkeypatch
):
    pods = by_resource("pods")
    kind_cacher = await apiserver.service.watch_cache.cacher(pods)
    assert kind_cacher is not None
    start = kind_cacher.revision
    async with stub_for(apiserver.endpoint) as stub:
        for i in range(5):
            await create(stub, pod(f"one-{i}", node="node-1"))
            await create(stub, pod(f"two-{i}", node="node-2"))
    now = int(await apiserver.etcd.revision())
    await eventually(lambda: kind_cacher.revision >= now, what="the cache has every pod")
    offered = offers_by_node(monkeypatch)
    from_now = kind_cacher.watch("", Selection(), kind_cacher.revision, bookmarks=False)
    assert offered == []
    resumed = kind_cacher.watch("", parse("", "spec.nodeName=node-1"), start, bookmarks=False)
    assert offered == ["node-1"] * 5
    heard = []
    async with asyncio.timeout(10):
        async for event in one_by_one(resumed.batches()):
            heard.append(decode("pods", event.object).metadata.name)
            if len(heard) == 5:
                break
    assert heard == [f"one-{i}" for i in range(5)]
    for watcher in (from_now, resumed):
        kind_cacher.forget(watcher)


async def test_the_cache_counts_what_it_holds_receives_and_drops(apiserver, monkeypatch):
    monkeypatch.setattr(cacher, "QUEUE", 1)
    kind_cacher = await configmaps_cache(apiserver)
    never_reads = kind_cacher.watch("", Selection(), kind_cacher.revision, bookmarks=False)
    async with stub_for(apiserver.endpoint) as stub:
        for name in ("a", "b", "c"):
            await create(stub, configmap(name))
    # The key of "c", not any key holding a "c" (every configmap key does).
    await eventually(lambda: any(key.endswith(b"/c") for key in kind_cacher.store))
    assert _sample(apiserver, "apiserver_terminated_watchers_total", resource="configmaps") == 1
    assert (
        _sample(apiserver, "apiserver_watch_cache_events_received_total", resource="configmaps")
        >= 3
    )
    assert _sample(
        apiserver, "tugboat_apiserver_watch_cache_objects", resource="configmaps"
    ) == len(kind_cacher.store)
    kind_cacher.forget(never_reads)


def _sample(server: Any, name: str, **labels: str) -> float:
    value = server.metrics.registry.get_sample_value(name, labels)
    return float(value) if value is not None else 0.0


async def test_the_cache_serves_the_same_events_as_etcd_through_deletes_compactions_and_a_fail_over(
    own_etcd3,
):
    kind = by_resource("configmaps")
    rng = random.Random(7)
    async with running_apiserver(own_etcd3.endpoints) as server:
        cache = server.service.watch_cache
        before = str(await server.etcd.revision())
        async with stub_for(server.endpoint) as stub:
            for i in range(3):
                await create(stub, configmap(f"early-{i}"))
        await cache.cacher(kind)
        start = str(await server.etcd.revision())
        selections = {"all": Selection(), "blue": parse("colour=blue", "")}
        cached: dict[str, list[tuple[str, str, str]]] = {s: [] for s in selections}
        direct: dict[str, list[tuple[str, str, str]]] = {s: [] for s in selections}
        handed: list[tuple[str, str, str]] = []
        """A watch from before the cache began: etcd serves it, then hands it to the cache."""

        async def follow_cache(name: str) -> None:
            events = one_by_one(
                cache.watch_batches(kind, "", selections[name], resource_version=start)
            )
            async for event in events:
                cached[name].append(_seen(event))

        async def follow_from_before() -> None:
            async for event in one_by_one(
                cache.watch_batches(kind, "", Selection(), resource_version=before)
            ):
                handed.append(_seen(event))

        async def follow_etcd(name: str) -> None:
            # A watch straight on etcd, resumed from its last revision when it breaks.
            since = start
            for _ in range(50):
                try:
                    events = watch_objects(
                        server.etcd, kind, "", selections[name], resource_version=since
                    )
                    async for event in events:
                        direct[name].append(_seen(event))
                        since = event.resource_version
                except errors.Unavailable:
                    await asyncio.sleep(0.1)

        followers = [
            asyncio.create_task(f(name)) for name in selections for f in (follow_cache, follow_etcd)
        ]
        followers.append(asyncio.create_task(follow_from_before()))
        try:
            async with stub_for(server.endpoint) as stub:
                live: dict[tuple[str, str], Any] = {}
                for step in range(240):
                    ns, name = rng.choice(["default", "kube-system"]), f"cm-{rng.randrange(12)}"
                    current = live.get((ns, name))
                    if current is None:
                        made = configmap(name, namespace=ns, step=str(step))
                        made.metadata.labels["colour"] = rng.choice(["blue", "red"])
                        live[(ns, name)] = await create(stub, made)
                    elif rng.random() < 0.4:
                        await stub.Delete(
                            api_pb2.DeleteRequest(resource="configmaps", namespace=ns, name=name)
                        )
                        del live[(ns, name)]
                    else:
                        current.data["step"] = str(step)
                        current.metadata.labels["colour"] = rng.choice(["blue", "red"])
                        resp = await stub.Update(
                            api_pb2.UpdateRequest(
                                resource="configmaps",
                                namespace=ns,
                                object=current.SerializeToString(),
                            )
                        )
                        live[(ns, name)] = decode("configmaps", resp.object)
                    if step in (80, 200):
                        await _caught_up(stub, f"sentinel-{step}", cached, direct, {"all": handed})
                        await server.etcd.compact(await server.etcd.revision())
                    if step == 140:
                        used = next(
                            m for m in own_etcd3.members if m.endpoint == server.etcd.endpoint
                        )
                        own_etcd3.kill_member(used)
                await _caught_up(stub, "sentinel-end", cached, direct, {"all": handed})
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
    for name in selections:
        assert cached[name] == direct[name], name
    assert len(cached["all"]) == 240 + 3  # every write and the three sentinels
    assert [name for _, name, _ in handed[:3]] == [f"default/early-{i}" for i in range(3)]
    assert handed[3:] == cached["all"]
    assert 3 < len(cached["blue"]) < 243


@pytest.fixture
def own_etcd3() -> Iterator[EtcdCluster]:
    cluster = start_etcd(3)
    try:
        yield cluster
    finally:
        cluster.stop()


def _seen(event: api_pb2.WatchEvent) -> tuple[str, str, str]:
    obj = decode("configmaps", event.object)
    return (event.type, f"{obj.metadata.namespace}/{obj.metadata.name}", event.resource_version)


async def _caught_up(stub: Any, mark: str, *streams: dict[str, list[tuple[str, str, str]]]) -> None:
    """Write a sentinel every selection sees, and wait until every stream has heard it."""
    sentinel = configmap(mark)
    sentinel.metadata.labels["colour"] = "blue"
    await create(stub, sentinel)

    def heard() -> bool:
        return all(
            any(name == f"default/{mark}" for _, name, _ in seen)
            for stream in streams
            for seen in stream.values()
        )

    await eventually(heard, timeout=30, what=f"every watch heard {mark}")


class ProgressAhead:
    """etcd as before 3.4.31/3.5.13 at its worst (etcd-io/etcd#15220): each response with
    configmap events is preceded by a progress notification at their revision, and held
    back until the test releases it."""

    def __init__(self, server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ahead = asyncio.Event()
        self.release = asyncio.Event()
        real = server.etcd.watch
        prefix = b"/registry/configmaps/"

        async def watch(key: bytes, *args: Any, **kwargs: Any) -> Any:
            async for resp in real(key, *args, **kwargs):
                if key.startswith(prefix) and resp.events:
                    early = rpc.WatchResponse()
                    early.header.revision = max(e.kv.mod_revision for e in resp.events)
                    yield early
                    self.ahead.set()
                    await self.release.wait()
                yield resp

        monkeypatch.setattr(server.etcd, "watch", watch)


async def test_a_watch_started_while_old_etcds_progress_runs_ahead_still_hears_the_change(
    apiserver, monkeypatch
):
    etcd = ProgressAhead(apiserver, monkeypatch)
    apiserver.service.watch_cache.consistent_reads = False  # an etcd before the fix
    cache = await configmaps_cache(apiserver)
    before = cache.revision
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("late"))
    async with asyncio.timeout(10):
        await etcd.ahead.wait()
    # The cache must not believe it holds the change its progress notification announced.
    assert cache.revision == before
    watcher = cache.watch("", Selection(), cache.revision, bookmarks=False)
    try:
        etcd.release.set()
        assert await names_of(one_by_one(watcher.batches()), 1) == ["late"]
    finally:
        cache.forget(watcher)
    assert cache.revision == int(made.metadata.resource_version)


async def test_a_direct_watchs_bookmark_on_old_etcd_never_passes_a_change_not_yet_sent(
    apiserver, monkeypatch
):
    etcd = ProgressAhead(apiserver, monkeypatch)
    kind = by_resource("configmaps")
    start = await apiserver.etcd.revision()
    events = watch_objects(
        apiserver.etcd, kind, "", Selection(), resource_version=str(start), bookmark_every=60
    )
    async with stub_for(apiserver.endpoint) as stub:
        made = await create(stub, configmap("late"))
    etcd.release.set()
    seen: list[tuple[str, int]] = []
    async with asyncio.timeout(10):
        async for event in events:
            seen.append((event.type, int(event.resource_version)))
            if event.type == "ADDED":
                break
    await events.aclose()
    assert seen == [("BOOKMARK", start), ("ADDED", int(made.metadata.resource_version))]

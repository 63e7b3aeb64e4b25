"""Informers against real API servers on a real etcd: list + watch, and re-list after compaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from client import kinds
from client.api import ApiClient, ClientOptions
from client.backoff import Backoff
from client.informer import Informer
from client.kinds import Object
from proto import core_pb2
from tests.conftest import ApiServerFactory
from tests.support.waiting import eventually


def configmap(name: str, namespace: str = "default", **data: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.data.update(data)
    return cm


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def on_add(self, obj: Object) -> None:
        self.calls.append(("add", kinds.key(obj)))

    def on_update(self, old: Object, new: Object) -> None:
        self.calls.append(("update", kinds.key(new)))

    def on_delete(self, obj: Object) -> None:
        self.calls.append(("delete", kinds.key(obj)))


async def truth(client: ApiClient) -> dict[str, str]:
    listed = await client.list_all("configmaps")
    return {kinds.key(o): o.metadata.resource_version for o in listed.items}


def cached(informer: Informer[core_pb2.ConfigMap]) -> dict[str, str]:
    return {kinds.key(o): o.metadata.resource_version for o in informer.list(copy=False)}


@pytest.fixture
async def writer(apiserver_factory: ApiServerFactory) -> AsyncIterator[ApiClient]:
    """A client on an in-process API server, for the test's own writes."""
    server = await apiserver_factory.start(name="writer")
    async with ApiClient([server.endpoint]) as c:
        yield c


async def test_an_informer_lists_then_follows_every_change(writer: ApiClient) -> None:
    for i in range(5):
        await writer.create(configmap(f"old{i}"))
    informer = Informer[core_pb2.ConfigMap](writer, "configmaps", page_size=2)
    recorder = Recorder()
    informer.add_handler(recorder.on_add, recorder.on_update, recorder.on_delete)
    informer.start()
    try:
        assert await informer.wait_synced(10)
        assert len(informer) == 5
        a = await writer.create(configmap("a", namespace="kube-system"))
        a.data["k"] = "v"
        await writer.update(a)
        await writer.delete("configmaps", "default", "old0")
        expected = await truth(writer)
        await eventually(lambda: cached(informer) == expected, what="the cache to match")
        assert recorder.calls[5:] == [
            ("add", "kube-system/a"),
            ("update", "kube-system/a"),
            ("delete", "default/old0"),
        ]
        assert [o.metadata.name for o in informer.by_index("namespace", "kube-system")] == ["a"]
    finally:
        await informer.stop()


async def test_a_namespaced_informer_sees_only_its_namespace(writer: ApiClient) -> None:
    informer = Informer[core_pb2.ConfigMap](writer, "configmaps", namespace="kube-system")
    informer.start()
    try:
        assert await informer.wait_synced(10)
        await writer.create(configmap("elsewhere"))
        await writer.create(configmap("here", namespace="kube-system"))
        await eventually(lambda: "kube-system/here" in informer, what="here in the cache")
        assert informer.keys() == ["kube-system/here"]
    finally:
        await informer.stop()


async def test_after_compaction_an_informer_relists_and_ends_with_the_right_cache(
    apiserver_factory: ApiServerFactory, writer: ApiClient
) -> None:
    # The informer's API server is a process, so it can die and come back on its ports
    # while the test changes and compacts history through the other one.
    watched = apiserver_factory.start_process(name="watched")
    compactor = (await apiserver_factory.start(name="compactor")).compactor
    for name in ("keep", "change", "vanish"):
        await writer.create(configmap(name))
    options = ClientOptions(backoff_base=0.01, backoff_cap=0.2, max_retries=3)
    async with ApiClient([watched.endpoint], options) as client:
        informer = Informer[core_pb2.ConfigMap](
            client, "configmaps", backoff=Backoff(base=0.05, cap=0.5)
        )
        recorder = Recorder()
        informer.add_handler(recorder.on_add, recorder.on_update, recorder.on_delete)
        informer.start()
        try:
            assert await informer.wait_synced(10)
            recorder.calls.clear()
            watched.kill()
            change = await writer.get("configmaps", "default", "change")
            assert isinstance(change, core_pb2.ConfigMap)
            change.data["v"] = "2"
            await writer.update(change)
            await writer.delete("configmaps", "default", "vanish")
            await writer.create(configmap("new"))
            await compactor.compact_now()
            watched.launch()
            watched.wait_ready()
            expected = await truth(writer)
            await eventually(
                lambda: cached(informer) == expected, timeout=30, what="the cache to match"
            )
            assert sorted(recorder.calls) == [
                ("add", "default/new"),
                ("delete", "default/vanish"),
                ("update", "default/change"),
            ]
            await writer.create(configmap("after"))
            await eventually(lambda: "default/after" in informer, what="watching again")
        finally:
            await informer.stop()

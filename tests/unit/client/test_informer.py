"""Informer logic against an in-memory lister-watcher (the project's own API seam).

The integration tests run the same informer against real API servers on a real etcd;
these pin down the cache, index, handler and re-list rules quickly and exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from client import kinds
from client.api import ObjectList, WatchEvent
from client.backoff import Backoff
from client.errors import Gone, Unavailable
from client.informer import NAMESPACE_INDEX, NODE_INDEX, Informer
from client.kinds import Object
from client.workqueue import WorkQueue
from proto import core_pb2
from tests.support.waiting import eventually


class FakeApi:
    """A store with revisions, an event log, compaction and breakable watches."""

    def __init__(self) -> None:
        self.revision = 10
        self.objects: dict[str, Object] = {}
        self.log: list[WatchEvent] = []
        self.compacted = 0
        self.lists = 0
        self.watches: list[str] = []
        self.list_error: Exception | None = None
        self.hold = False
        self._generation = 0
        self._changed = asyncio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def put(self, obj: Object) -> Object:
        """Store a copy of obj at the next revision; the caller's obj gets that revision."""
        self.revision += 1
        obj.metadata.resource_version = str(self.revision)
        stored = type(obj).FromString(obj.SerializeToString())
        key = kinds.key(obj)
        kind = "MODIFIED" if key in self.objects else "ADDED"
        self.objects[key] = stored
        self.log.append(WatchEvent(kind, stored, str(self.revision)))
        self._notify()
        return obj

    def delete(self, key: str) -> None:
        self.revision += 1
        obj = self.objects.pop(key)
        obj = type(obj).FromString(obj.SerializeToString())
        obj.metadata.resource_version = str(self.revision)
        self.log.append(WatchEvent("DELETED", obj, str(self.revision)))
        self._notify()

    def compact(self) -> None:
        self.compacted = self.revision

    def break_watches(self) -> None:
        self._generation += 1
        self._notify()

    async def list(
        self,
        resource: str,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
    ) -> ObjectList:
        self.lists += 1
        if self.list_error is not None:
            raise self.list_error
        keys = sorted(self.objects)
        start = int(continue_token or 0)
        end = start + limit if limit else len(keys)
        page = [self.objects[k] for k in keys[start:end]]
        return ObjectList(
            items=[type(o).FromString(o.SerializeToString()) for o in page],
            resource_version=str(self.revision),
            continue_token=str(end) if end < len(keys) else "",
        )

    async def watch(
        self,
        resource: str,
        namespace: str = "",
        *,
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        allow_bookmarks: bool = False,
    ) -> AsyncIterator[WatchEvent]:
        self.watches.append(resource_version)
        position = int(resource_version or self.revision)
        if position < self.compacted:
            raise Gone(f"revision {position} compacted")
        generation = self._generation
        # Bounded: a test's informer is stopped long before this many wake-ups.
        for _ in range(100_000):
            # Taken before reading the log, so that a change made meanwhile is not missed.
            changed = self._changed
            if self._generation != generation:
                raise Unavailable("the stream broke")
            if not self.hold:
                for event in [e for e in self.log if int(e.resource_version) > position]:
                    position = int(event.resource_version)
                    assert event.object is not None
                    copy = type(event.object).FromString(event.object.SerializeToString())
                    yield WatchEvent(event.type, copy, event.resource_version)
            await changed.wait()


def pod(name: str, node: str = "", namespace: str = "default", **labels: str) -> core_pb2.Pod:
    p = core_pb2.Pod(api_version="v1", kind="Pod")
    p.metadata.name = name
    p.metadata.namespace = namespace
    p.metadata.labels.update(labels)
    p.spec.node_name = node
    return p


class Recorder:
    """Handler calls as (event, key, resourceVersion) tuples."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def on_add(self, obj: Object) -> None:
        self.calls.append(("add", kinds.key(obj), obj.metadata.resource_version))

    def on_update(self, old: Object, new: Object) -> None:
        self.calls.append(("update", kinds.key(new), new.metadata.resource_version))

    def on_delete(self, obj: Object) -> None:
        self.calls.append(("delete", kinds.key(obj), obj.metadata.resource_version))


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
async def running(api: FakeApi) -> AsyncIterator[tuple[Informer[core_pb2.Pod], Recorder]]:
    informer = Informer[core_pb2.Pod](api, "pods", backoff=Backoff(base=0.001, cap=0.01))
    recorder = Recorder()
    informer.add_handler(recorder.on_add, recorder.on_update, recorder.on_delete)
    informer.start()
    try:
        yield informer, recorder
    finally:
        await informer.stop()


def names(objs: list[core_pb2.Pod]) -> list[str]:
    return [o.metadata.name for o in objs]


def cache_matches(informer: Informer[core_pb2.Pod], api: FakeApi) -> bool:
    return {k: o.metadata.resource_version for k, o in api.objects.items()} == {
        kinds.key(o): o.metadata.resource_version for o in informer.list(copy=False)
    }


async def test_it_lists_then_watches_from_the_lists_revision(api: FakeApi) -> None:
    api.put(pod("a"))
    api.put(pod("b"))
    informer = Informer[core_pb2.Pod](api, "pods")
    recorder = Recorder()
    informer.add_handler(on_add=recorder.on_add)
    informer.start()
    try:
        assert await informer.wait_synced(5)
        assert informer.has_synced()
        assert informer.keys() == ["default/a", "default/b"]
        assert recorder.calls == [("add", "default/a", "11"), ("add", "default/b", "12")]
        await eventually(lambda: api.watches == ["12"], what="a watch from the list's revision")
        api.put(pod("c"))
        await eventually(lambda: "default/c" in informer, what="c in the cache")
        assert informer.resource_version == "13"
    finally:
        await informer.stop()


async def test_it_reports_synced_only_once_its_handlers_have_had_the_first_list(
    api: FakeApi,
) -> None:
    for name in ("a", "b", "c"):
        api.put(pod(name))
    informer = Informer[core_pb2.Pod](api, "pods")
    seen: list[str] = []

    async def slow_add(obj: core_pb2.Pod) -> None:
        # A handler that gives the loop away, as one that writes or queues does.
        for _ in range(3):
            await asyncio.sleep(0)
        seen.append(obj.metadata.name)

    informer.add_handler(on_add=slow_add)
    informer.start()
    try:
        assert await informer.wait_synced(5)
        assert seen == ["a", "b", "c"]
    finally:
        await informer.stop()


async def test_changes_reach_the_cache_and_the_handlers_in_order(running, api: FakeApi) -> None:
    informer, recorder = running
    assert await informer.wait_synced(5)
    api.put(pod("a"))
    b = api.put(pod("b"))
    b.metadata.labels["x"] = "y"
    api.put(b)
    api.delete("default/a")
    await eventually(lambda: len(recorder.calls) == 4, what="four handler calls")
    assert recorder.calls == [
        ("add", "default/a", "11"),
        ("add", "default/b", "12"),
        ("update", "default/b", "13"),
        ("delete", "default/a", "14"),
    ]
    got = informer.get("default/b")
    assert got is not None and got.metadata.labels["x"] == "y"
    assert informer.get("default/a") is None
    assert informer.resource_version == "14"


async def test_the_cache_is_paged_in_with_the_page_size(api: FakeApi) -> None:
    for i in range(7):
        api.put(pod(f"p{i}"))
    informer = Informer[core_pb2.Pod](api, "pods", page_size=2)
    informer.start()
    try:
        assert await informer.wait_synced(5)
        assert len(informer) == 7
        assert api.lists == 4
    finally:
        await informer.stop()


async def test_indexes_follow_namespace_and_node_changes(running, api: FakeApi) -> None:
    informer, _ = running
    api.put(pod("a", node="n1"))
    api.put(pod("b", node="n1", namespace="other"))
    api.put(pod("c"))
    await eventually(lambda: len(informer) == 3, what="three pods")
    assert names(informer.by_index(NODE_INDEX, "n1")) == ["a", "b"]  # sorted by key
    assert names(informer.by_index(NODE_INDEX, "")) == ["c"]
    assert names(informer.by_index(NAMESPACE_INDEX, "other")) == ["b"]
    moved = pod("a", node="n2")
    api.put(moved)
    await eventually(lambda: informer.by_index(NODE_INDEX, "n2"), what="a on n2")
    assert names(informer.by_index(NODE_INDEX, "n1")) == ["b"]
    api.delete("other/b")
    await eventually(lambda: not informer.by_index(NODE_INDEX, "n1"), what="b gone from n1")
    assert informer.by_index(NAMESPACE_INDEX, "other") == []


async def test_a_custom_index_covers_objects_already_cached(running, api: FakeApi) -> None:
    informer, _ = running
    api.put(pod("a", app="web"))
    api.put(pod("b", app="db"))
    api.put(pod("c", app="web"))
    await eventually(lambda: len(informer) == 3, what="three pods")
    informer.add_index("app", lambda o: o.metadata.labels.get("app"))
    assert names(informer.by_index("app", "web")) == ["a", "c"]
    api.put(pod("d", app="web"))
    await eventually(lambda: len(informer.by_index("app", "web")) == 3, what="d indexed")
    with pytest.raises(KeyError, match='no index "nope"'):
        informer.by_index("nope", "x")


async def test_readers_and_handlers_cannot_change_the_cache_by_accident(api: FakeApi) -> None:
    api.put(pod("a"))
    informer = Informer[core_pb2.Pod](api, "pods")

    def meddle(obj: core_pb2.Pod) -> None:
        obj.metadata.labels["meddled"] = "yes"

    informer.add_handler(on_add=meddle)
    informer.start()
    try:
        assert await informer.wait_synced(5)
        got = informer.get("default/a")
        assert got is not None
        got.spec.node_name = "changed"
        informer.list()[0].metadata.name = "renamed"
        informer.by_index(NAMESPACE_INDEX, "default")[0].metadata.uid = "x"
        stored = informer.get("default/a", copy=False)
        assert stored is not None
        assert stored.spec.node_name == ""
        assert stored.metadata.name == "a"
        assert "meddled" not in stored.metadata.labels
        assert informer.get("default/a", copy=False) is stored
    finally:
        await informer.stop()


async def test_after_compaction_it_relists_and_reports_the_differences(
    running, api: FakeApi
) -> None:
    informer, recorder = running
    for name in ("keep", "change", "vanish"):
        api.put(pod(name))
    await eventually(lambda: len(informer) == 3, what="three pods")
    recorder.calls.clear()
    api.hold = True  # the informer misses what follows
    api.put(pod("change", app="new"))
    api.delete("default/vanish")
    api.put(pod("new"))
    api.compact()
    api.hold = False
    api.break_watches()
    await eventually(lambda: api.lists == 2, what="a second list")
    await eventually(lambda: cache_matches(informer, api), what="the cache to match")
    assert sorted(recorder.calls) == [
        ("add", "default/new", "16"),
        ("delete", "default/vanish", "13"),
        ("update", "default/change", "14"),
    ]
    assert informer.resource_version == "16"
    api.put(pod("after"))
    await eventually(lambda: "default/after" in informer, what="watching again")


async def test_a_broken_watch_resumes_from_the_last_event_without_listing(
    running, api: FakeApi
) -> None:
    informer, recorder = running
    assert await informer.wait_synced(5)
    api.put(pod("a"))
    await eventually(lambda: "default/a" in informer, what="a")
    api.hold = True
    api.put(pod("b"))
    api.hold = False
    api.break_watches()
    await eventually(lambda: "default/b" in informer, what="b after the break")
    assert api.lists == 1
    assert api.watches[-1] == "11"
    assert [c[1] for c in recorder.calls] == ["default/a", "default/b"]


async def test_a_replayed_older_event_is_ignored(api: FakeApi) -> None:
    informer = Informer[core_pb2.Pod](api, "pods")
    recorder = Recorder()
    informer.add_handler(recorder.on_add, recorder.on_update, recorder.on_delete)
    newer = pod("a", app="new")
    newer.metadata.resource_version = "20"
    older = pod("a", app="old")
    older.metadata.resource_version = "15"
    await informer._replace([newer], "20")
    await informer._apply(WatchEvent("MODIFIED", older, "15"))
    await informer._apply(WatchEvent("ADDED", older, "15"))
    got = informer.get("default/a")
    assert got is not None and got.metadata.labels["app"] == "new"
    assert recorder.calls == [("add", "default/a", "20")]
    await informer._apply(WatchEvent("DELETED", pod("ghost"), "21"))
    assert recorder.calls == [("add", "default/a", "20")], "deleting the unknown reports nothing"


async def test_a_failing_handler_does_not_stop_the_others_or_the_informer(
    running, api: FakeApi
) -> None:
    informer, recorder = running

    def broken(obj: core_pb2.Pod) -> None:
        raise RuntimeError("handler bug")

    seen: list[str] = []

    async def slow(obj: core_pb2.Pod) -> None:
        await asyncio.sleep(0)
        seen.append(obj.metadata.name)

    informer.add_handler(on_add=broken)
    informer.add_handler(on_add=slow)
    api.put(pod("a"))
    api.put(pod("b"))
    await eventually(lambda: seen == ["a", "b"], what="the async handler to see both")
    assert [c[1] for c in recorder.calls] == ["default/a", "default/b"]


async def test_wait_synced_gives_up_while_the_list_keeps_failing(api: FakeApi) -> None:
    api.list_error = Unavailable("no API server answered")
    informer = Informer[core_pb2.Pod](api, "pods", backoff=Backoff(base=0.001, cap=0.01))
    informer.start()
    try:
        assert await informer.wait_synced(0.2) is False
        assert not informer.has_synced()
        api.list_error = None
        assert await informer.wait_synced(5)
    finally:
        await informer.stop()


def test_an_unknown_resource_is_refused(api: FakeApi) -> None:
    with pytest.raises(LookupError, match='"gizmos"'):
        Informer(api, "gizmos")


async def test_a_gone_that_keeps_coming_is_met_with_back_off(api: FakeApi) -> None:
    api.put(pod("a"))
    api.compacted = 10**9  # every watch is refused as too old
    backoff = Backoff(base=0.001, cap=0.01)
    informer = Informer[core_pb2.Pod](api, "pods", backoff=backoff)
    informer.start()
    try:
        await eventually(lambda: api.lists >= 4, what="repeated lists")
        assert backoff.attempts >= 3, "each repeated Gone backs off further"
        assert informer.keys() == ["default/a"]
    finally:
        await informer.stop()


async def test_a_key_handler_feeds_a_work_queue(running, api: FakeApi) -> None:
    informer, _ = running
    queue = WorkQueue()
    informer.add_key_handler(queue.add)
    api.put(pod("a"))
    api.put(pod("a", app="x"))
    api.put(pod("b", namespace="other"))
    api.delete("default/a")
    await eventually(lambda: informer.keys() == ["other/b"], what="the cache")
    assert len(queue) == 2, "repeated keys collapse in the queue"
    assert [await queue.get(), await queue.get()] == ["default/a", "other/b"]

"""The kubelet's pod source against a scripted API: a broken watch resumes, Gone re-lists.

Each watch the fake API serves plays the next script: some events, then an error. The
tests read which lists and watches the source asked for, and what its manager was told.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

from client.api import ApiClient, ObjectList, WatchEvent
from client.errors import ApiError, Gone, Unavailable
from kubelet.pods.manager import PodManager
from kubelet.podsource import watch_pods
from proto import core_pb2
from tests.support.waiting import eventually


def pod(name: str, version: str, node: str = "n1") -> core_pb2.Pod:
    p = core_pb2.Pod(api_version="v1", kind="Pod")
    p.metadata.name, p.metadata.namespace, p.metadata.uid = name, "default", f"uid-{name}"
    p.metadata.resource_version = version
    p.spec.node_name = node
    return p


class ScriptedApi:
    """Lists answer `pods` at `revision`; watch number i plays scripts[i], then ends with
    its error (or waits forever when there is no script left)."""

    def __init__(self, scripts: list[tuple[list[WatchEvent], ApiError]]) -> None:
        self.scripts = scripts
        self.pods = [pod("a", "10")]
        self.revision = "10"
        self.lists = 0
        self.watched_from: list[str] = []

        self.later: tuple[list[core_pb2.Pod], str] | None = None
        """What lists after the first answer, and at which revision."""

    async def list(self, resource: str, namespace: str = "", **_: Any) -> ObjectList:
        self.lists += 1
        if self.lists > 1 and self.later is not None:
            self.pods, self.revision = self.later
        return ObjectList(items=list(self.pods), resource_version=self.revision)

    async def watch(
        self, resource: str, namespace: str = "", *, resource_version: str = "", **_: Any
    ) -> AsyncIterator[WatchEvent]:
        turn = len(self.watched_from)
        self.watched_from.append(resource_version)
        if turn >= len(self.scripts):
            await asyncio.Event().wait()
        events, error = self.scripts[turn]
        for event in events:
            yield event
        raise error


class Manager:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def replace_all(self, pods: list[core_pb2.Pod]) -> None:
        self.calls.append(("replace_all", [p.metadata.name for p in pods]))

    def upsert(self, p: core_pb2.Pod) -> None:
        self.calls.append(("upsert", [p.metadata.name]))

    def remove(self, uid: str) -> None:
        self.calls.append(("remove", [uid]))


async def run_until(api: ScriptedApi, manager: Manager, watches: int, version: str = "") -> None:
    task = asyncio.create_task(
        watch_pods(cast(ApiClient, api), "n1", cast(PodManager, manager), version)
    )
    try:
        await eventually(
            lambda: len(api.watched_from) >= watches, timeout=5, what=f"{watches} watches"
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_broken_watch_resumes_from_its_last_event_without_listing_again() -> None:
    api = ScriptedApi(
        [
            ([WatchEvent("ADDED", pod("b", "11"), "11")], Unavailable("watch again")),
            ([WatchEvent("BOOKMARK", None, "15")], Unavailable("watch again")),
        ]
    )
    manager = Manager()
    await run_until(api, manager, watches=3)
    assert api.lists == 1
    assert api.watched_from == ["10", "11", "15"]
    assert manager.calls == [("replace_all", ["a"]), ("upsert", ["b"])]


async def test_a_watch_whose_revision_is_gone_lists_the_pods_again() -> None:
    api = ScriptedApi([([WatchEvent("ADDED", pod("b", "11"), "11")], Gone("too old"))])
    manager = Manager()
    api.later = ([pod("a", "10"), pod("b", "11")], "30")
    await run_until(api, manager, watches=2)
    assert api.lists == 2
    assert api.watched_from == ["10", "30"]
    assert manager.calls[-1] == ("replace_all", ["a", "b"])


async def test_a_source_started_from_a_reconnects_list_watches_from_it_without_listing() -> None:
    # The reconnect already listed the node's pods and handed them to the manager.
    api = ScriptedApi([([WatchEvent("ADDED", pod("b", "21"), "21")], Unavailable("again"))])
    manager = Manager()
    await run_until(api, manager, watches=2, version="20")
    assert api.lists == 0
    assert api.watched_from == ["20", "21"]
    assert manager.calls == [("upsert", ["b"])]

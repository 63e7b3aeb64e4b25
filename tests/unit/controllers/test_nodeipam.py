"""Node IPAM with many workers: distinct ranges, reservations kept across a Conflict.

The controller runs as the controller manager runs it (its informer lists and watches
first, then its 30 workers start) against an in-memory API whose Node writes are guarded
by resourceVersion and yield to the event loop, so that syncs really overlap.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from client.api import ApiClient, ObjectList, WatchEvent
from client.errors import Conflict, NotFound
from client.kinds import Object
from master.controllers.base import Context
from master.controllers.nodeipam import NodeIpamController
from master.controllers.settings import ControllerSettings
from proto import core_pb2
from tests.support.waiting import eventually


def node(name: str, pod_cidr: str = "") -> core_pb2.Node:
    n = core_pb2.Node(api_version="v1", kind="Node")
    n.metadata.name = name
    n.spec.pod_cidr = pod_cidr
    return n


def copied(obj: Object) -> Object:
    return type(obj).FromString(obj.SerializeToString())


class FakeApi:
    """Nodes with revisions and a watch; writes guarded by resourceVersion, Events kept.

    Every Node write yields to the loop a few times first, as a write to a loaded API
    server would, so other workers run meanwhile. Writes of nodes in `refuse` answer
    Conflict; `attempts` has the podCIDR of every write, by node.
    """

    def __init__(self) -> None:
        self.revision = 10
        self.nodes: dict[str, core_pb2.Node] = {}
        self.log: list[WatchEvent] = []
        self.events: list[core_pb2.Event] = []
        self.refuse: set[str] = set()
        self.attempts: dict[str, list[str]] = {}
        self.in_flight = 0
        self.most_in_flight = 0
        self._changed = asyncio.Event()
        self._random = random.Random(14)

    def _append(self, type: str, obj: core_pb2.Node) -> None:
        self.revision += 1
        obj.metadata.resource_version = str(self.revision)
        self.log.append(WatchEvent(type, copied(obj), str(self.revision)))
        self._changed.set()
        self._changed = asyncio.Event()

    def put(self, obj: core_pb2.Node) -> core_pb2.Node:
        kind = "MODIFIED" if obj.metadata.name in self.nodes else "ADDED"
        stored = cast(core_pb2.Node, copied(obj))
        self.nodes[obj.metadata.name] = stored
        self._append(kind, stored)
        return cast(core_pb2.Node, copied(stored))

    def delete(self, name: str) -> None:
        self._append("DELETED", self.nodes.pop(name))

    def pod_cidrs(self) -> dict[str, str]:
        return {name: n.spec.pod_cidr for name, n in self.nodes.items() if n.spec.pod_cidr}

    async def list(self, resource: str, namespace: str = "", **_: Any) -> ObjectList:
        return ObjectList(
            items=[copied(self.nodes[k]) for k in sorted(self.nodes)],
            resource_version=str(self.revision),
            continue_token="",
        )

    async def watch(
        self, resource: str, namespace: str = "", *, resource_version: str = "", **_: Any
    ) -> AsyncIterator[WatchEvent]:
        position = int(resource_version or self.revision)
        # Bounded: a test's informer is stopped long before this many wake-ups.
        for _turn in range(100_000):
            changed = self._changed
            for event in [e for e in self.log if int(e.resource_version) > position]:
                position = int(event.resource_version)
                assert event.object is not None
                yield WatchEvent(event.type, copied(event.object), event.resource_version)
            await changed.wait()

    async def update(self, obj: Any, *, dry_run: bool = False) -> Any:
        if isinstance(obj, core_pb2.Event):
            return obj
        name = obj.metadata.name
        self.attempts.setdefault(name, []).append(obj.spec.pod_cidr)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            for _ in range(self._random.randint(1, 5)):
                await asyncio.sleep(0)
        finally:
            self.in_flight -= 1
        stored = self.nodes.get(name)
        if stored is None:
            raise NotFound(f'nodes "{name}" not found')
        if name in self.refuse or (
            stored.metadata.resource_version != obj.metadata.resource_version
        ):
            raise Conflict(f'Operation cannot be fulfilled on nodes "{name}"')
        return self.put(obj)

    async def create(self, obj: Any) -> Any:
        self.events.append(obj)
        return obj


@asynccontextmanager
async def running(
    api: FakeApi, *, cluster_cidr: str = "10.0.0.0/16", mask: int = 24, service_range: str = ""
) -> AsyncIterator[NodeIpamController]:
    """The controller as run_controllers runs it: informer synced, then the workers."""
    settings = ControllerSettings(
        cluster_cidr=cluster_cidr, node_cidr_mask_size=mask, service_cluster_ip_range=service_range
    )
    ctx = Context(cast(ApiClient, api), settings)
    controller = NodeIpamController(ctx)
    informer = ctx.informers.get("nodes")
    informer.start()
    task: asyncio.Task[None] | None = None
    try:
        assert await informer.wait_synced(10)
        task = asyncio.create_task(controller.run())
        yield controller
    finally:
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=10)
        await informer.stop()


async def test_fifty_nodes_synced_side_by_side_get_distinct_lowest_free_ranges() -> None:
    api = FakeApi()
    # What a restarted controller manager finds: ranges held, one given by someone else.
    api.put(node("old-a", "10.0.0.0/24"))
    api.put(node("old-b", "10.0.20.0/24"))
    async with running(api) as controller:
        assert controller._workers() == 30
        for i in range(50):
            api.put(node(f"n{i:02}"))

        await eventually(lambda: len(api.pod_cidrs()) == 52, what="52 podCIDRs")

    given = {name: cidr for name, cidr in api.pod_cidrs().items() if name.startswith("n")}
    assert sorted(given.values()) == sorted(
        f"10.0.{i}.0/24" for i in [*range(1, 20), *range(21, 52)]
    )
    assert api.most_in_flight > 1
    assert all(len(a) == 1 for a in api.attempts.values())
    assert "old-a" not in api.attempts and "old-b" not in api.attempts
    assert api.pod_cidrs()["old-b"] == "10.0.20.0/24"


async def test_a_range_refused_with_conflict_stays_reserved_for_its_retry() -> None:
    api = FakeApi()
    api.refuse.add("a")
    async with running(api):
        api.put(node("a"))
        await eventually(lambda: api.attempts.get("a"), what="a first write of a")
        api.put(node("b"))
        await eventually(lambda: "b" in api.pod_cidrs(), what="b's podCIDR")
        api.refuse.discard("a")
        await eventually(lambda: "a" in api.pod_cidrs(), what="a's podCIDR after retries")

    assert api.pod_cidrs() == {"a": "10.0.0.0/24", "b": "10.0.1.0/24"}
    assert len(api.attempts["a"]) >= 2
    assert set(api.attempts["a"]) == {"10.0.0.0/24"}


async def test_a_deleted_nodes_range_goes_to_the_next_node() -> None:
    api = FakeApi()
    async with running(api):
        for name in ("a", "b", "c"):
            api.put(node(name))
        await eventually(lambda: len(api.pod_cidrs()) == 3, what="three podCIDRs")
        freed = api.pod_cidrs()["b"]
        api.delete("b")
        api.put(node("d"))
        await eventually(lambda: "d" in api.pod_cidrs(), what="d's podCIDR")

    assert api.pod_cidrs()["d"] == freed


async def test_the_service_range_is_never_handed_out_and_a_full_cidr_is_reported() -> None:
    api = FakeApi()
    async with running(api, cluster_cidr="10.0.0.0/30", mask=31, service_range="10.0.0.0/31"):
        api.put(node("a"))
        await eventually(lambda: "a" in api.pod_cidrs(), what="a's podCIDR")
        api.put(node("b"))
        await eventually(
            lambda: any(e.reason == "CIDRNotAvailable" for e in api.events),
            what="a CIDRNotAvailable event",
        )

    assert api.pod_cidrs() == {"a": "10.0.0.2/31"}

"""Which version of its Node the kubelet asks for: its heartbeat's periodic re-read at
resourceVersion 0, so that the API server's watch cache answers it without an etcd read
(a quarter of all API requests at 1,000 nodes); the reads after losing a race, at the
newest, as Kubernetes' kubelet retries. Simulated nodes re-read it from the Node informer
their process shares, with no request at all, unless it is behind their own last write.
"""

from __future__ import annotations

from typing import Any

from client.errors import AlreadyExists, Conflict
from proto import core_pb2
from tests.unit.kubelet.heartbeats import heartbeat


class Api:
    """The API client's Node calls over one stored Node, recording the resourceVersion
    each GET asks for; `exists` and `conflicts` make the next writes lose their race."""

    def __init__(self, *, exists: bool = False, conflicts: int = 0) -> None:
        self.node: core_pb2.Node | None = None
        self.exists = exists
        self.conflicts = conflicts
        self.reads: list[str] = []

    async def create(self, obj: Any) -> Any:
        self.node = core_pb2.Node()
        self.node.CopyFrom(obj)
        self.node.metadata.resource_version = "1"
        if self.exists:
            raise AlreadyExists('nodes "n1" already exists')
        return self.stored()

    async def get(
        self, resource: str, namespace: str, name: str, resource_version: str = ""
    ) -> Any:
        self.reads.append(resource_version)
        return self.stored()

    async def update(self, obj: Any) -> Any:
        assert self.node is not None
        self.node.metadata.labels.update(obj.metadata.labels)
        return self.stored()

    async def update_status(self, obj: Any) -> Any:
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict('Operation cannot be fulfilled on nodes "n1"')
        assert self.node is not None
        self.node.status.CopyFrom(obj.status)
        return self.stored()

    def stored(self) -> core_pb2.Node:
        assert self.node is not None
        copy = core_pb2.Node()
        copy.CopyFrom(self.node)
        return copy


async def test_the_heartbeats_re_read_of_its_node_asks_for_resource_version_0():
    api = Api()
    beat = heartbeat(api)
    await beat.register()
    assert api.reads == []
    await beat.write_status(refresh=True)
    await beat.write_status(refresh=True)
    assert api.reads == ["0", "0"]


async def test_after_a_conflict_the_node_is_read_at_the_newest_version():
    api = Api()
    beat = heartbeat(api)
    await beat.register()
    api.conflicts = 1
    assert await beat.write_status(force=True, refresh=True) is True
    assert api.reads == ["0", ""]


async def test_adopting_a_node_that_already_exists_reads_the_newest_version():
    api = Api(exists=True)
    await heartbeat(api).register()
    assert api.reads == [""]


class SharedNodes:
    """A Node informer's reading side, holding whatever the test puts in it."""

    def __init__(self) -> None:
        self.objects: dict[str, core_pb2.Node] = {}

    def has_synced(self) -> bool:
        return True

    def get(self, key: str, copy: bool = True) -> core_pb2.Node | None:
        found = self.objects.get(key)
        if found is None:
            return None
        fresh = core_pb2.Node()
        fresh.CopyFrom(found)
        return fresh


async def test_a_simulated_node_re_reads_its_node_from_the_shared_informer_without_a_get():
    api, nodes = Api(), SharedNodes()
    beat = heartbeat(api, nodes)
    await beat.register()
    seen = api.stored()
    seen.metadata.resource_version = "7"
    ready = next(c for c in seen.status.conditions if c.type == "Ready")
    ready.status = "Unknown"  # the node lifecycle controller's word
    nodes.objects["n1"] = seen
    assert await beat.write_status(refresh=True) is True
    assert api.reads == []
    assert api.node is not None
    assert next(c for c in api.node.status.conditions if c.type == "Ready").status == "True"


async def test_an_informer_behind_the_nodes_own_last_write_is_not_taken():
    api, nodes = Api(), SharedNodes()
    beat = heartbeat(api, nodes)
    await beat.register()
    older = api.stored()
    older.metadata.resource_version = "0"
    del older.status.conditions[:]
    nodes.objects["n1"] = older
    assert await beat.write_status(refresh=True) is False
    assert api.reads == []


async def test_a_node_the_informer_has_not_seen_yet_is_read_by_get():
    api = Api()
    beat = heartbeat(api, SharedNodes())
    await beat.register()
    await beat.write_status(refresh=True)
    assert api.reads == ["0"]

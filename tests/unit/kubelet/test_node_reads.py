"""Which version of its Node the kubelet asks for: its heartbeat's periodic re-read at
resourceVersion 0, so that the API server's watch cache answers it without an etcd read
(a quarter of all API requests at 1,000 nodes); the reads after losing a race, at the
newest, as Kubernetes' kubelet retries.
"""

from __future__ import annotations

from typing import Any

from client.errors import AlreadyExists, Conflict
from kubelet.node import NodeHeartbeat, NodeSettings
from kubelet.runtime.interface import VersionInfo
from proto import core_pb2

MACHINE = VersionInfo("docker://27", "linux", "x86_64", "6.1", "Debian", 2000, 4 << 30)


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


def heartbeat(api: Api) -> NodeHeartbeat:
    settings = NodeSettings(name="n1", address="127.0.0.2", port=1)
    return NodeHeartbeat(api, settings, MACHINE)  # type: ignore[arg-type]


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

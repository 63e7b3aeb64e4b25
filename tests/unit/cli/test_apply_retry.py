"""Apply re-reads and recomputes when its write meets a Conflict."""

from __future__ import annotations

from typing import Any

from cli.commands.apply import apply_one
from client import codec, errors, kinds
from proto import core_pb2


class ConflictOnce:
    """Stands in for ApiClient: someone else writes between apply's read and its update."""

    def __init__(self, live: core_pb2.ConfigMap) -> None:
        self.live = live
        self.updates: list[core_pb2.ConfigMap] = []
        self.conflicted = False

    async def get(self, resource: str, namespace: str, name: str) -> Any:
        return self.live

    async def update(self, obj: Any) -> Any:
        if not self.conflicted:
            self.conflicted = True
            changed = core_pb2.ConfigMap()
            changed.CopyFrom(self.live)
            changed.metadata.labels["owner"] = "ops"
            changed.metadata.resource_version = "2"
            self.live = changed
            raise errors.Conflict("the object has been modified")
        assert obj.metadata.resource_version == self.live.metadata.resource_version
        self.updates.append(obj)
        return obj


async def test_a_conflicting_write_is_retried_on_the_fresh_object():
    live = codec.from_dict(
        core_pb2.ConfigMap,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default", "resourceVersion": "1"},
            "data": {"a": "1"},
        },
    )
    api = ConflictOnce(live)
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "2"},
    }
    result = await apply_one(api, kinds.by_resource("configmaps"), manifest, "default")  # type: ignore[arg-type]
    assert result == "configured"
    [written] = api.updates
    assert written.data == {"a": "2"}
    assert written.metadata.labels == {"owner": "ops"}

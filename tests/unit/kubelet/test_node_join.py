"""What joining costs the API server: a node the kubelet creates is created with its
status (Kubernetes' kubelet builds its initial Node so, and the API server keeps a Node's
status on create), and its first Lease is created without a read that could only answer
NotFound. An adopted Node still gets its status written and its Lease read first."""

from __future__ import annotations

from typing import Any

from client.errors import AlreadyExists, NotFound
from proto import core_pb2, workloads_pb2
from tests.unit.kubelet.heartbeats import heartbeat


class Api:
    """Records every call as (verb, resource); `existing` holds the objects already
    stored, by resource."""

    def __init__(self, *existing: str) -> None:
        self.existing = set(existing)
        self.calls: list[tuple[str, str]] = []
        self.created: dict[str, Any] = {}

    def _stored(self, resource: str) -> Any:
        obj = core_pb2.Node() if resource == "nodes" else workloads_pb2.Lease()
        if resource in self.created:
            obj.CopyFrom(self.created[resource])
        obj.metadata.name = "n1"
        obj.metadata.resource_version = "7"
        return obj

    async def create(self, obj: Any) -> Any:
        resource = "nodes" if isinstance(obj, core_pb2.Node) else "leases"
        self.calls.append(("create", resource))
        if resource in self.existing:
            raise AlreadyExists(f'{resource} "n1" already exists')
        self.created[resource] = obj
        self.existing.add(resource)
        return self._stored(resource)

    async def get(self, resource: str, namespace: str, name: str, **_: Any) -> Any:
        self.calls.append(("get", resource))
        if resource not in self.existing:
            raise NotFound(f'{resource} "n1" not found')
        return self._stored(resource)

    async def update(self, obj: Any) -> Any:
        resource = "nodes" if isinstance(obj, core_pb2.Node) else "leases"
        self.calls.append(("update", resource))
        return obj

    async def update_status(self, obj: Any) -> Any:
        self.calls.append(("update_status", "nodes"))
        return obj


async def test_a_new_node_is_created_with_its_ready_status_in_one_write():
    api = Api()
    beat = heartbeat(api)

    await beat.register()

    assert api.calls == [("create", "nodes")]
    ready = [c for c in api.created["nodes"].status.conditions if c.type == "Ready"]
    assert [c.status for c in ready] == ["True"]
    assert api.created["nodes"].status.capacity["pods"] == "110"
    assert beat.registered.is_set()


async def test_the_first_lease_of_a_node_just_created_is_created_without_a_read():
    api = Api()
    beat = heartbeat(api)
    await beat.register()

    await beat.renew_lease()

    assert api.calls == [("create", "nodes"), ("create", "leases"), ("update", "leases")]


async def test_a_lease_that_outlived_its_node_is_read_after_already_exists():
    api = Api("leases")
    beat = heartbeat(api)
    await beat.register()

    await beat.renew_lease()

    assert api.calls[1:] == [("create", "leases"), ("get", "leases"), ("update", "leases")]
    assert beat.renewals == 1


async def test_an_adopted_node_gets_its_status_written_and_its_lease_read_first():
    api = Api("nodes", "leases")
    beat = heartbeat(api)
    await beat.register()

    await beat.renew_lease()

    assert ("update_status", "nodes") in api.calls
    assert api.calls[-2:] == [("get", "leases"), ("update", "leases")]

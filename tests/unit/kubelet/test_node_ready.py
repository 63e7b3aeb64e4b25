"""The heartbeat re-reads its Node after a renewal gap and posts Ready over Unknown."""

from __future__ import annotations

from typing import Any

from kubelet.node import NodeHeartbeat, NodeSettings
from proto import core_pb2, meta_pb2
from tests.unit.kubelet.heartbeats import MACHINE, heartbeat


class Api:
    """The API client's Node calls, over one stored Node (a stand-in for client.api)."""

    def __init__(self) -> None:
        self.node: core_pb2.Node | None = None
        self.status_writes = 0

    async def create(self, obj: Any) -> Any:
        self.node = core_pb2.Node()
        self.node.CopyFrom(obj)
        self.node.metadata.resource_version = "1"
        return await self.get("nodes", "", obj.metadata.name)  # a copy, as a real client's

    async def get(
        self, resource: str, namespace: str, name: str, resource_version: str = ""
    ) -> Any:
        assert self.node is not None
        copy = core_pb2.Node()
        copy.CopyFrom(self.node)
        return copy

    async def update_status(self, obj: Any) -> Any:
        assert self.node is not None
        self.node.status.CopyFrom(obj.status)
        self.status_writes += 1
        return await self.get("nodes", "", obj.metadata.name)


def ready_of(node: core_pb2.Node) -> meta_pb2.Condition:
    return next(c for c in node.status.conditions if c.type == "Ready")


async def controller_marks_unknown(api: Api) -> None:
    assert api.node is not None
    cond = ready_of(api.node)
    cond.status, cond.reason = "Unknown", "NodeStatusUnknown"
    cond.last_transition_time = "2026-01-01T00:00:00Z"


async def test_the_cached_node_hides_the_controllers_unknown_but_a_re_read_does_not() -> None:
    api = Api()
    beat = heartbeat(api)
    await beat.register()
    await controller_marks_unknown(api)
    writes = api.status_writes
    assert await beat.write_status() is False
    assert await beat.write_status(refresh=True) is True
    assert api.status_writes == writes + 1
    assert api.node is not None
    cond = ready_of(api.node)
    assert (cond.status, cond.reason) == ("True", "KubeletReady")
    assert cond.last_transition_time != "2026-01-01T00:00:00Z"


def test_a_renewal_after_a_gap_opens_a_window_of_re_reads_and_tells_the_fence() -> None:
    told: list[float] = []
    beat = NodeHeartbeat(
        Api(),  # type: ignore[arg-type]
        NodeSettings(name="n1", address="127.0.0.2", port=1, lease_period=1.0),
        MACHINE,
        on_renewed=told.append,
    )
    beat._renewed(100.0)
    beat._renewed(101.0)
    assert beat._recheck_until == 0.0
    beat._renewed(110.0)
    assert beat._recheck_until > 0.0
    assert told == [100.0, 101.0, 110.0]


async def test_a_node_registers_with_its_labels_and_taints_but_keeps_later_taints() -> None:
    api = Api()
    taint = core_pb2.Taint(key="dedicated", value="db", effect="NoSchedule")
    settings = NodeSettings(
        name="n1", address="127.0.0.2", port=1, labels={"disktype": "ssd"}, taints=(taint,)
    )
    beat = NodeHeartbeat(api, settings, MACHINE)  # type: ignore[arg-type]
    await beat.register()
    assert api.node is not None
    assert api.node.metadata.labels["disktype"] == "ssd"
    assert [t.key for t in api.node.spec.taints] == ["dedicated"]
    assert [t.key for t in beat.desired_node().spec.taints] == []  # never re-asserted

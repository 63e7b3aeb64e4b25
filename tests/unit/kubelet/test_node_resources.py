"""A Node's status keeps what others advertised on it: the kubelet rewrites only the
resources it measures."""

from __future__ import annotations

from tests.unit.kubelet.heartbeats import heartbeat
from tests.unit.kubelet.test_node_ready import Api


async def test_an_extended_resource_patched_onto_the_status_survives_the_kubelets_writes() -> None:
    api = Api()
    beat = heartbeat(api)
    await beat.register()
    assert api.node is not None
    api.node.status.capacity["example.com/dongle"] = "4"  # the docs' curl PATCH
    api.node.status.capacity["cpu"] = "64"  # the kubelet's own figure is not anyone's
    assert await beat.write_status(refresh=True) is True
    status = api.node.status
    assert status.capacity["example.com/dongle"] == "4"
    assert status.allocatable["example.com/dongle"] == "4"
    assert status.capacity["cpu"] != "64"
    assert await beat.write_status(refresh=True) is False  # and nothing flaps after

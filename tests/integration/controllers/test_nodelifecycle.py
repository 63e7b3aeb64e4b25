"""Node lifecycle: a silent node turns Unknown, is tainted, and its pods move elsewhere."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from client.api import ApiClient
from master.controllers import controller_utils as cu
from master.controllers import taints as tt
from proto import core_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, wait_for
from tests.integration.controllers.nodes import Heartbeats, modify_node
from tests.integration.controllers.test_deployment import deployment, rolled_out


@pytest.fixture
async def heartbeats(api: ApiClient) -> AsyncIterator[Heartbeats]:
    beats = Heartbeats(api)
    try:
        yield beats
    finally:
        await beats.stop()


async def test_a_node_that_stops_renewing_its_lease_is_tainted_and_its_pods_replaced(
    api: ApiClient, manager: Any, simulator: Any, heartbeats: Heartbeats
) -> None:
    for name in ("n1", "n2", "n3"):
        await heartbeats.add(name)
    heartbeats.start()
    sim = await simulator(["n1", "n2", "n3"], heartbeat=False)
    await manager.start(node_monitor_grace_period=1.5, node_monitor_period=0.2)
    await api.create(deployment("web", 6))
    await wait_for(lambda: rolled_out(api, "web", 6), what="rolled out")
    doomed = {
        p.metadata.name for p in await fetch_all(api, core_pb2.Pod) if p.spec.node_name == "n3"
    }
    assert doomed

    killed = time.monotonic()
    heartbeats.alive.discard("n3")
    sim.nodes.remove("n3")

    async def tainted() -> bool:
        node = await fetch(api, core_pb2.Node, "n3")
        ready = cu.get_condition(node.status.conditions, "Ready")
        return (
            ready is not None
            and ready.status == "Unknown"
            and tt.has_taint(node, tt.UNREACHABLE, tt.NO_EXECUTE)
        )

    await wait_for(tainted, timeout=20, what="n3 Unknown and tainted unreachable")

    async def replaced() -> bool:
        pods = [p for p in await fetch_all(api, core_pb2.Pod) if cu.is_pod_active(p)]
        running = [p for p in pods if p.status.phase == "Running" and cu.is_pod_ready(p)]
        return (
            len(running) == 6
            and all(p.spec.node_name in ("n1", "n2") for p in running)
            and not doomed & {p.metadata.name for p in pods}
        )

    await wait_for(replaced, timeout=30, what="pods replaced on n1 and n2")
    print(f"\nnode silent -> all replacements running: {time.monotonic() - killed:.1f} s")
    evicted = [
        e for e in await fetch_all(api, core_pb2.Event) if e.reason == "TaintManagerEviction"
    ]
    assert {e.involved_object.name for e in evicted} == doomed
    for name in ("n1", "n2"):
        node = await fetch(api, core_pb2.Node, name)
        assert not node.spec.taints

    heartbeats.alive.add("n3")  # back: once it reports Ready again the taint goes

    def reports_ready(n: core_pb2.Node) -> None:
        ready = cu.get_condition(n.status.conditions, "Ready")
        assert ready is not None
        ready.status, ready.reason = "True", "KubeletReady"
        ready.last_heartbeat_time = cu.rfc3339()  # as a kubelet posting status does

    await modify_node(api, "n3", reports_ready, status=True)

    async def untainted() -> bool:
        return not (await fetch(api, core_pb2.Node, "n3")).spec.taints

    await wait_for(untainted, what="taint removed")


async def test_a_pod_stuck_terminating_goes_only_from_a_down_node_marked_out_of_service(
    api: ApiClient, manager: Any, heartbeats: Heartbeats
) -> None:
    for node in ("down", "silent", "alive"):
        await heartbeats.add(node)
    heartbeats.start()
    for node in ("down", "silent", "alive"):
        pod = core_pb2.Pod(api_version="v1", kind="Pod")
        pod.metadata.name, pod.metadata.namespace = f"on-{node}", "default"
        pod.spec.node_name = node
        pod.spec.containers.add(name="c", image="busybox")
        await api.create(pod)
        # Graceful: only its kubelet may finish it, and none runs here.
        await api.delete("pods", "default", pod.metadata.name, grace_period_seconds=30)
    await manager.start(node_monitor_grace_period=1.0, node_monitor_period=0.2)
    heartbeats.alive -= {"down", "silent"}

    async def unknown() -> bool:
        for name in ("down", "silent"):
            node = await fetch(api, core_pb2.Node, name)
            ready = cu.get_condition(node.status.conditions, "Ready")
            if ready is None or ready.status != "Unknown":
                return False
        return True

    await wait_for(unknown, timeout=20, what="the silent nodes Unknown")

    def out_of_service(n: core_pb2.Node) -> None:
        n.spec.taints.add(key=tt.OUT_OF_SERVICE, value="nodeshutdown", effect=tt.NO_EXECUTE)

    # The operator's word that the machine is down; a live node so marked keeps its pod.
    for node in ("down", "alive"):
        await modify_node(api, node, out_of_service)

    async def gone() -> bool:
        names = {p.metadata.name for p in await fetch_all(api, core_pb2.Pod)}
        return "on-down" not in names

    await wait_for(gone, timeout=20, interval=0.2, what="the down node's pod removed")
    # Silence alone is not enough: a kubelet that froze leaves its containers running.
    left = {p.metadata.name for p in await fetch_all(api, core_pb2.Pod)}
    assert left == {"on-silent", "on-alive"}

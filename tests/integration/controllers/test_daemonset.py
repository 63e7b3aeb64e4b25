"""DaemonSets: one pod per eligible node (selector, taints), following nodes, rolling update."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from client.api import ApiClient
from client.errors import Conflict
from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, manifest, wait_for
from tests.integration.controllers.nodes import Heartbeats, modify_node
from tests.integration.controllers.test_deployment import PodSampler


@pytest.fixture
async def heartbeats(api: ApiClient) -> AsyncIterator[Heartbeats]:
    beats = Heartbeats(api)
    try:
        yield beats
    finally:
        await beats.stop()


def daemon_set(image: str = "busybox:1.35") -> Any:
    return manifest(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {
                        "nodeSelector": {"disk": "ssd"},
                        "containers": [{"name": "main", "image": image}],
                    },
                },
            },
        }
    )


async def placement(api: ApiClient) -> dict[str, str]:
    pods = [p for p in await fetch_all(api, core_pb2.Pod) if cu.is_pod_active(p)]
    return {p.spec.node_name: p.spec.containers[0].image for p in pods}


async def test_a_daemon_set_runs_one_pod_per_eligible_node_and_follows_the_nodes(
    api: ApiClient, manager: Any, simulator: Any, heartbeats: Heartbeats
) -> None:
    nodes = ["n1", "n2", "n3", "n4"]
    await heartbeats.add("n1", {"disk": "ssd"})
    await heartbeats.add("n2", {"disk": "ssd"})
    await heartbeats.add("n3", {"disk": "hdd"})
    await modify_node(
        api, "n2", lambda n: n.spec.taints.add(key="dedicated", value="db", effect="NoSchedule")
    )
    sim = await simulator(nodes, heartbeat=False)
    await manager.start()
    await api.create(daemon_set())

    async def only_n1() -> bool:
        ds = await fetch(api, workloads_pb2.DaemonSet, "agent")
        return await placement(api) == {"n1": "busybox:1.35"} and (
            ds.status.desired_number_scheduled,
            ds.status.number_ready,
        ) == (1, 1)

    await wait_for(only_n1, what="a pod on n1 only (n2 tainted, n3 hdd)")

    await heartbeats.add("n4", {"disk": "ssd"})
    await wait_for(lambda: _placed_on(api, {"n1", "n4"}), what="a pod on the new node n4")

    def untaint(n: core_pb2.Node) -> None:
        keep = [t for t in n.spec.taints if t.key != "dedicated"]
        del n.spec.taints[:]
        n.spec.taints.extend(keep)

    await modify_node(api, "n2", untaint)
    await wait_for(lambda: _placed_on(api, {"n1", "n2", "n4"}), what="n2 untainted")

    heartbeats.alive.discard("n4")
    await api.delete("nodes", "", "n4")
    await wait_for(lambda: _placed_on(api, {"n1", "n2"}), what="n4's pod gone with n4")

    async with PodSampler(api, "agent") as sampler:
        for _ in range(10):  # the controller writes the DaemonSet's status meanwhile
            ds = await fetch(api, workloads_pb2.DaemonSet, "agent")
            ds.spec.template.spec.containers[0].image = "busybox:1.36"
            try:
                await api.update(ds)
                break
            except Conflict:
                continue

        async def updated() -> bool:
            ds = await fetch(api, workloads_pb2.DaemonSet, "agent")
            return await placement(api) == {"n1": "busybox:1.36", "n2": "busybox:1.36"} and (
                ds.status.updated_number_scheduled == 2 and ds.status.number_available == 2
            )

        await wait_for(updated, what="both nodes on the new image")
    assert sampler.min_available >= 1  # maxUnavailable 1 of 2
    sim.poke()


async def _placed_on(api: ApiClient, wanted: set[str]) -> bool:
    return set(await placement(api)) == wanted

"""Node IPAM: each node gets its own podCIDR from the cluster CIDR."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from proto import core_pb2
from tests.integration.controllers.conftest import fetch_all, wait_for
from tests.integration.controllers.nodes import Heartbeats


async def test_every_node_gets_a_distinct_pod_cidr_and_a_freed_one_is_reused(
    api: ApiClient, manager: Any
) -> None:
    beats = Heartbeats(api)
    for name in ("a", "b", "c"):
        await beats.add(name)
    await manager.start(cluster_cidr="10.50.0.0/16", node_cidr_mask_size=24)

    async def allocated() -> dict[str, str]:
        nodes = await fetch_all(api, core_pb2.Node)
        return {n.metadata.name: n.spec.pod_cidr for n in nodes if n.spec.pod_cidr}

    async def three() -> bool:
        return len(await allocated()) == 3

    await wait_for(three, what="three podCIDRs")
    assert set((await allocated()).values()) == {"10.50.0.0/24", "10.50.1.0/24", "10.50.2.0/24"}
    freed = (await allocated())["b"]
    await api.delete("nodes", "", "b")
    await beats.add("d")

    async def reused() -> bool:
        return (await allocated()).get("d") == freed

    await wait_for(reused, what="the freed range reused")

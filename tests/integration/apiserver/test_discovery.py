"""The API server's Prometheus discovery follows the cluster's objects as they change."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from client.manifests import parse_manifests
from tests.integration.apiserver.helpers import create, delete, stub_for
from tests.support.waiting import eventually

NODE = """
apiVersion: v1
kind: Node
metadata: {name: sd-node}
status: {addresses: [{type: InternalIP, address: 127.0.0.7}]}
"""


def _fetch(port: int) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/discovery/prometheus"
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("application/json")
        found: list[dict[str, Any]] = json.loads(r.read())
        return found


async def targets(port: int) -> dict[str, set[str]]:
    by_job: dict[str, set[str]] = {}
    for group in await asyncio.to_thread(_fetch, port):
        by_job.setdefault(group["labels"]["job"], set()).update(group["targets"])
    return by_job


async def test_discovery_lists_the_api_server_itself_and_nodes_as_they_come_and_go(
    apiserver_factory,
):
    apiserver = await apiserver_factory.start(register=True)
    assert apiserver.status is not None
    port = apiserver.status.port
    own = f"127.0.0.1:{port}"

    async def registered() -> bool:
        return own in (await targets(port)).get("apiserver", set())

    await eventually(registered, timeout=10, what="the API server's own registration")
    assert (await targets(port))["etcd"] == set(apiserver.config.etcd_servers)

    node = next(iter(parse_manifests(NODE, "node.yaml"))).obj
    async with stub_for(apiserver.endpoint) as stub:
        await create(stub, node)

        async def kubelet_listed() -> bool:
            return "127.0.0.7:10255" in (await targets(port)).get("kubelet", set())

        await eventually(kubelet_listed, timeout=5, what="the new node's kubelet")
        assert "127.0.0.7:10249" in (await targets(port))["kube-proxy"]
        await delete(stub, "nodes", "", "sd-node")

    async def kubelet_gone() -> bool:
        return "127.0.0.7:10255" not in (await targets(port)).get("kubelet", set())

    await eventually(kubelet_gone, timeout=5, what="the deleted node's kubelet to go")

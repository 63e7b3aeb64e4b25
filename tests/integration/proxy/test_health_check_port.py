"""A Local LoadBalancer's healthCheckNodePort: each node's proxy tells outside load
balancers whether it holds a ready endpoint of the Service."""

from __future__ import annotations

from typing import Any

import aiohttp

from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2
from tests.integration.proxy.conftest import ProxyFactory
from tests.support.waiting import eventually
from tests.support.writes import put

NODES = {"node-1": "127.0.0.21", "node-2": "127.0.0.22", "node-3": "127.0.0.23"}


async def probe(address: str, port: int) -> tuple[int, dict[str, Any], str] | None:
    """Status, JSON body and weight header of GET /healthz; None when nothing answers."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session,
            session.get(f"http://{address}:{port}/healthz") as resp,
        ):
            weight = resp.headers.get("X-Load-Balancing-Endpoint-Weight", "")
            # A port being closed by a sync may answer 404 in plain text meanwhile.
            body = await resp.json() if resp.content_type == "application/json" else {}
            return resp.status, body, weight
    except (aiohttp.ClientError, TimeoutError):
        # Refused, or cut off while a sync closed the port: nothing answers there.
        return None


async def put_endpoints(api: ApiClient, on_nodes: list[str]) -> None:
    """The Service's ready addresses: two on the first node named, one on each other."""
    addresses = []
    for i, node in enumerate(on_nodes):
        addresses.append({"ip": f"10.244.{i}.10", "nodeName": node})
        if i == 0:
            addresses.append({"ip": f"10.244.{i}.11", "nodeName": node})
    meta = {"name": "lb", "namespace": "default"}
    await put(api, from_dict(core_pb2.Endpoints, {
        "metadata": meta, "subsets": [{"addresses": addresses, "ports": [{"port": 8080}]}],
    }))  # fmt: skip


async def test_each_node_answers_its_local_endpoint_count_until_the_policy_is_cluster(
    api: ApiClient, proxies: ProxyFactory
) -> None:
    svc = await api.create(from_dict(core_pb2.Service, {
        "metadata": {"name": "lb", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                 "selector": {"app": "lb"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }))  # fmt: skip
    port = svc.spec.health_check_node_port
    assert port
    await put_endpoints(api, ["node-1", "node-2"])
    for node, address in NODES.items():
        await proxies.start(address=address, node_name=node)

    def answer(count: int) -> tuple[int, dict[str, Any], str]:
        body = {
            "service": {"namespace": "default", "name": "lb"},
            "localEndpoints": count,
            "serviceProxyHealthy": True,
        }
        return (200 if count else 503), body, str(count)

    async def answers(wanted: dict[str, Any]) -> bool:
        return {n: await probe(a, port) for n, a in NODES.items()} == wanted

    await eventually(
        lambda: answers({"node-1": answer(2), "node-2": answer(1), "node-3": answer(0)}),
        what="each node's count of its own ready endpoints",
    )
    await put_endpoints(api, ["node-3"])
    await eventually(
        lambda: answers({"node-1": answer(0), "node-2": answer(0), "node-3": answer(2)}),
        what="the counts following the Endpoints",
    )

    current: Any = await api.get("services", "default", "lb")
    current.spec.external_traffic_policy = "Cluster"
    await api.update(current)
    await eventually(lambda: answers(dict.fromkeys(NODES)), what="the port closed on every node")

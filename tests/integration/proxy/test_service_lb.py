"""LoadBalancer Services get the ready nodes' addresses as their ingress."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from client.api import ApiClient
from client.codec import from_dict
from master.controllers import ControllerSettings, run_controllers
from proto import core_pb2
from tests.support.waiting import eventually
from tests.support.writes import put


@pytest.fixture
async def servicelb(apiserver: Any) -> AsyncIterator[None]:
    client = ApiClient([apiserver.endpoint])
    task = asyncio.create_task(
        run_controllers(client, settings=ControllerSettings(controllers=("servicelb",)))
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()


async def put_node(api: ApiClient, name: str, address: str, ready: bool) -> None:
    try:
        node: Any = await api.get("nodes", "", name)
    except Exception:
        node = await api.create(from_dict(core_pb2.Node, {"metadata": {"name": name}}))
    del node.status.conditions[:]
    del node.status.addresses[:]
    node.status.conditions.add(type="Ready", status="True" if ready else "False")
    node.status.addresses.add(type="InternalIP", address=address)
    await api.update_status(node)


async def ingress(api: ApiClient) -> list[str]:
    svc: Any = await api.get("services", "default", "web")
    return [i.ip for i in svc.status.load_balancer.ingress]


async def test_ingress_follows_the_ready_nodes_and_clears_when_the_type_changes(
    api: ApiClient, servicelb: None
) -> None:
    await put_node(api, "n1", "127.0.0.2", ready=True)
    await put_node(api, "n2", "127.0.0.3", ready=False)
    svc = from_dict(
        core_pb2.Service,
        {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )
    created = await api.create(svc)
    assert 30000 <= created.spec.ports[0].node_port <= 32767

    await eventually(lambda: _is(ingress(api), ["127.0.0.2"]), what="one ready node")
    await put_node(api, "n2", "127.0.0.3", ready=True)
    await eventually(lambda: _is(ingress(api), ["127.0.0.2", "127.0.0.3"]), what="both nodes")

    current: Any = await api.get("services", "default", "web")
    current.spec.type = "ClusterIP"
    for p in current.spec.ports:
        p.node_port = 0
    current.spec.external_traffic_policy = ""
    await api.update(current)
    await eventually(lambda: _is(ingress(api), []), what="ingress cleared")


async def put_endpoints(api: ApiClient, ready_on: list[str], not_ready_on: list[str]) -> None:
    """The web Service's Endpoints: one address on each named node, ready or not."""

    def on(nodes: list[str], first: int) -> list[dict[str, Any]]:
        return [{"ip": f"10.244.0.{first + i}", "nodeName": n} for i, n in enumerate(nodes)]

    subset: dict[str, Any] = {"ports": [{"port": 8080}]}
    if ready_on:
        subset["addresses"] = on(ready_on, 10)
    if not_ready_on:
        subset["notReadyAddresses"] = on(not_ready_on, 20)
    meta = {"name": "web", "namespace": "default"}
    await put(api, from_dict(core_pb2.Endpoints, {"metadata": meta, "subsets": [subset]}))


async def test_with_local_traffic_policy_the_ingress_lists_only_ready_nodes_holding_an_endpoint(
    api: ApiClient, servicelb: None
) -> None:
    await put_node(api, "n1", "127.0.0.2", ready=True)
    await put_node(api, "n2", "127.0.0.3", ready=True)
    await put_node(api, "n3", "127.0.0.4", ready=True)
    await put_endpoints(api, ready_on=["n2"], not_ready_on=["n3"])
    await api.create(
        from_dict(
            core_pb2.Service,
            {
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {
                    "type": "LoadBalancer",
                    "externalTrafficPolicy": "Local",
                    "selector": {"app": "web"},
                    "ports": [{"port": 80, "targetPort": 8080}],
                },
            },
        )
    )
    await eventually(lambda: _is(ingress(api), ["127.0.0.3"]), what="only the node with a pod")

    await put_endpoints(api, ready_on=["n2", "n3"], not_ready_on=[])
    await eventually(
        lambda: _is(ingress(api), ["127.0.0.3", "127.0.0.4"]), what="the endpoint that turned ready"
    )
    await put_node(api, "n2", "127.0.0.3", ready=False)
    await eventually(lambda: _is(ingress(api), ["127.0.0.4"]), what="the unready node dropped")
    await put_endpoints(api, ready_on=[], not_ready_on=[])
    await eventually(lambda: _is(ingress(api), []), what="no node can take traffic")

    current: Any = await api.get("services", "default", "web")
    current.spec.external_traffic_policy = "Cluster"
    await api.update(current)
    await eventually(
        lambda: _is(ingress(api), ["127.0.0.2", "127.0.0.4"]), what="every ready node again"
    )


async def _is(found: Any, expected: list[str]) -> bool:
    return bool(await found == expected)


async def test_a_service_of_another_load_balancer_class_is_left_alone(
    api: ApiClient, servicelb: None
) -> None:
    await put_node(api, "n1", "127.0.0.2", ready=True)
    theirs = await api.create(from_dict(core_pb2.Service, {
        "metadata": {"name": "theirs", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "loadBalancerClass": "example.com/metal",
                 "selector": {"app": "web"}, "ports": [{"port": 80}]},
    }))  # fmt: skip
    await api.create(from_dict(core_pb2.Service, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
    }))  # fmt: skip
    # Both are queued in key order ("theirs" first), on creation and on every node change.
    await eventually(lambda: _is(ingress(api), ["127.0.0.2"]), what="our own service served")
    await put_node(api, "n2", "127.0.0.3", ready=True)
    await eventually(lambda: _is(ingress(api), ["127.0.0.2", "127.0.0.3"]), what="both nodes")
    current: Any = await api.get("services", "default", "theirs")
    assert theirs.spec.load_balancer_class == "example.com/metal"
    assert list(current.status.load_balancer.ingress) == []

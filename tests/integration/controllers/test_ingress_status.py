"""Ingress status: the ready nodes' addresses, for Ingresses of a Tugboat class only."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.codec import from_dict
from proto import networking_pb2
from tests.integration.controllers.conftest import ControllerManager
from tests.integration.proxy.test_service_lb import put_node
from tests.support.waiting import eventually


def web_ingress(name: str, spec: dict[str, Any]) -> networking_pb2.Ingress:
    meta = {"name": name, "namespace": "default"}
    return from_dict(networking_pb2.Ingress, {"metadata": meta, "spec": spec})


async def test_status_lists_the_ready_nodes_for_tugboat_ingresses_only(
    api: ApiClient, manager: ControllerManager
) -> None:
    await manager.start(controllers=("ingress-status",))
    await put_node(api, "n1", "127.0.0.2", ready=True)
    await put_node(api, "n2", "127.0.0.3", ready=False)
    other = from_dict(
        networking_pb2.IngressClass,
        {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}},
    )
    await api.create(other)
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    await api.create(web_ingress("ours", {"defaultBackend": backend}))
    await api.create(
        web_ingress("theirs", {"ingressClassName": "nginx", "defaultBackend": backend})
    )

    async def addresses(name: str) -> list[str]:
        ing: Any = await api.get("ingresses", "default", name)
        return [p.ip for p in ing.status.load_balancer.ingress]

    async def equals(name: str, wanted: list[str]) -> bool:
        return await addresses(name) == wanted

    await eventually(lambda: equals("ours", ["127.0.0.2"]), what="the ready node listed")
    await put_node(api, "n2", "127.0.0.3", ready=True)
    await eventually(lambda: equals("ours", ["127.0.0.2", "127.0.0.3"]), what="both nodes listed")
    await put_node(api, "n1", "127.0.0.2", ready=False)
    await eventually(lambda: equals("ours", ["127.0.0.3"]), what="the unready node dropped")
    assert await addresses("theirs") == []

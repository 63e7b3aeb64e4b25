"""Endpoints list ready pods in addresses, others in notReadyAddresses, named ports resolved."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.errors import NotFound
from proto import core_pb2
from tests.integration.controllers.conftest import fetch, manifest, wait_for


def pod(name: str, port_name: str, number: int) -> Any:
    return manifest(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox:1.35",
                        "ports": [{"name": port_name, "containerPort": number}],
                    }
                ]
            },
        }
    )


async def test_endpoints_follow_pod_readiness_and_resolve_named_ports_per_pod(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    slow = {"b"}
    sim = await simulator(["n1"], ready=lambda p: p.metadata.name not in slow)
    await manager.start()
    await api.create(
        manifest(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}},
                "spec": {
                    "selector": {"app": "web"},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                },
            }
        )
    )
    for name, port_name, number in (("a", "http", 8080), ("b", "http", 9090), ("c", "other", 7070)):
        await api.create(pod(name, port_name, number))

    async def listed() -> bool:
        try:
            ep = await fetch(api, core_pb2.Endpoints, "web")
        except NotFound:
            return False
        seen = {
            (a.target_ref.name, p.port, ready)
            for s in ep.subsets
            for ready, addrs in ((True, s.addresses), (False, s.not_ready_addresses))
            for a in addrs
            for p in s.ports
        }
        return seen == {("a", 8080, True), ("b", 9090, False)}

    await wait_for(listed, what="a ready on 8080, b not ready on 9090, c left out")
    ep = await fetch(api, core_pb2.Endpoints, "web")
    assert ep.metadata.labels["tier"] == "front"

    slow.clear()
    sim.poke()

    async def both_ready() -> bool:
        ep = await fetch(api, core_pb2.Endpoints, "web")
        ready = {a.target_ref.name for s in ep.subsets for a in s.addresses}
        return ready == {"a", "b"} and not any(s.not_ready_addresses for s in ep.subsets)

    await wait_for(both_ready, what="both ready")
    await api.delete("pods", "default", "a", grace_period_seconds=0)

    async def a_gone() -> bool:
        ep = await fetch(api, core_pb2.Endpoints, "web")
        return {a.target_ref.name for s in ep.subsets for a in s.addresses} == {"b"}

    await wait_for(a_gone, what="a removed")
    await api.delete("services", "default", "web")

    async def endpoints_gone() -> bool:
        try:
            await fetch(api, core_pb2.Endpoints, "web")
        except NotFound:
            return True
        return False

    await wait_for(endpoints_gone, what="endpoints deleted with the service")

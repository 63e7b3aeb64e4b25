"""EndpointSlices follow each Service's Endpoints, and go with the Service."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2
from tests.integration.controllers.conftest import ControllerManager
from tests.support.waiting import eventually
from tests.support.writes import put

SELECTOR = "kubernetes.io/service-name=web"


async def put_endpoints(api: ApiClient, ready: list[str], not_ready: list[str]) -> None:
    subset: dict[str, Any] = {"ports": [{"name": "http", "port": 8080}]}
    subset["addresses"] = [{"ip": ip} for ip in ready]
    subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    meta = {"name": "web", "namespace": "default"}
    await put(api, from_dict(core_pb2.Endpoints, {"metadata": meta, "subsets": [subset]}))


async def sliced(api: ApiClient) -> list[tuple[str, bool]]:
    listed: Any = await api.list("endpointslices", "default", label_selector=SELECTOR)
    return sorted(
        (ep.addresses[0], ep.conditions.ready) for s in listed.items for ep in s.endpoints
    )


async def test_slices_follow_the_endpoints_and_go_with_the_service(
    api: ApiClient, manager: ControllerManager
) -> None:
    await manager.start(controllers=("endpointslice",))
    await api.create(from_dict(core_pb2.Service, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
    }))  # fmt: skip

    async def equals(wanted: list[tuple[str, bool]]) -> bool:
        return await sliced(api) == wanted

    async def count(n: int) -> bool:
        listed: Any = await api.list("endpointslices", "default", label_selector=SELECTOR)
        return len(listed.items) == n

    await eventually(lambda: count(1), what="the empty slice of a Service without endpoints")
    await put_endpoints(api, ["172.30.1.5"], ["172.30.1.6"])
    await eventually(
        lambda: equals([("172.30.1.5", True), ("172.30.1.6", False)]), what="both addresses"
    )
    await put_endpoints(api, ["172.30.1.5", "172.30.1.6"], [])
    await eventually(
        lambda: equals([("172.30.1.5", True), ("172.30.1.6", True)]), what="the second ready"
    )
    await api.delete("services", "default", "web")
    await eventually(lambda: count(0), what="the slices gone with the Service")

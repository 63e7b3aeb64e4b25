"""EndpointSlices: built from the pods for a Service with a selector, mirrored from the
user's Endpoints for one without, and gone with the Service."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2
from tests.integration.controllers.conftest import ControllerManager, manifest
from tests.support.waiting import eventually
from tests.support.writes import put

SELECTOR = "kubernetes.io/service-name=web"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"


async def put_endpoints(api: ApiClient, ready: list[str], not_ready: list[str]) -> None:
    subset: dict[str, Any] = {"ports": [{"name": "http", "port": 8080}]}
    subset["addresses"] = [{"ip": ip} for ip in ready]
    subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    meta = {"name": "web", "namespace": "default"}
    await put(api, from_dict(core_pb2.Endpoints, {"metadata": meta, "subsets": [subset]}))


async def sliced(api: ApiClient) -> list[tuple[str, bool, str]]:
    """Each endpoint's address (or pod), readiness and the manager of its slice."""
    listed: Any = await api.list("endpointslices", "default", label_selector=SELECTOR)
    return sorted(
        (ep.target_ref.name or ep.addresses[0], ep.conditions.ready, s.metadata.labels[MANAGED_BY])
        for s in listed.items
        for ep in s.endpoints
    )


async def count(api: ApiClient, n: int) -> bool:
    listed: Any = await api.list("endpointslices", "default", label_selector=SELECTOR)
    return len(listed.items) == n


async def test_user_endpoints_of_a_service_without_selector_are_mirrored(
    api: ApiClient, manager: ControllerManager
) -> None:
    mirroring = "endpointslicemirroring-controller.k8s.io"
    await manager.start(controllers=("endpointslice",))
    await api.create(from_dict(core_pb2.Service, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"name": "http", "port": 80}]},
    }))  # fmt: skip

    async def equals(wanted: list[tuple[str, bool, str]]) -> bool:
        return await sliced(api) == wanted

    await put_endpoints(api, ["172.30.1.5"], ["172.30.1.6"])
    await eventually(
        lambda: equals([("172.30.1.5", True, mirroring), ("172.30.1.6", False, mirroring)]),
        what="both addresses mirrored",
    )
    await put_endpoints(api, ["172.30.1.5", "172.30.1.6"], [])
    await eventually(
        lambda: equals([("172.30.1.5", True, mirroring), ("172.30.1.6", True, mirroring)]),
        what="the second ready",
    )
    await api.delete("services", "default", "web")
    await eventually(lambda: count(api, 0), what="the slices gone with the Service")


async def test_slices_of_a_service_with_a_selector_follow_its_pods(
    api: ApiClient, manager: ControllerManager, simulator: Any
) -> None:
    controller = "endpointslice-controller.k8s.io"
    slow = {"b"}
    sim = await simulator(["n1"], ready=lambda p: p.metadata.name not in slow)
    await manager.start(controllers=("endpointslice",))
    await api.create(from_dict(core_pb2.Service, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
    }))  # fmt: skip
    await eventually(lambda: count(api, 1), what="the empty slice of a Service without pods")
    for name in ("a", "b"):
        await api.create(manifest({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.35"}]},
        }))  # fmt: skip

    async def equals(wanted: list[tuple[str, bool, str]]) -> bool:
        return await sliced(api) == wanted

    await eventually(
        lambda: equals([("a", True, controller), ("b", False, controller)]),
        what="a ready, b not yet",
    )
    slow.clear()
    sim.poke()
    await eventually(
        lambda: equals([("a", True, controller), ("b", True, controller)]), what="b ready too"
    )
    await api.delete("services", "default", "web")
    await eventually(lambda: count(api, 0), what="the slices gone with the Service")

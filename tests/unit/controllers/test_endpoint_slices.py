"""A Service's EndpointSlices as Kubernetes 1.32 writes them: built from the pods by the
endpointslice controller for a Service with a selector (terminating pods included, a
named port resolved per pod, zones, endpoints left in the slice that has them), and
mirrored from the user's Endpoints for a Service without one."""

from __future__ import annotations

from typing import Any

from client.codec import from_dict, to_dict
from master.controllers.endpointslice import EndpointSliceController
from proto import core_pb2
from tests.unit.controllers.memory_api import MemoryApi
from tests.unit.controllers.service_objects import NS, ip, node, pod, service, sync_once

MANAGED_BY = "endpointslice.kubernetes.io/managed-by"


def slices(api: MemoryApi) -> list[Any]:
    return [api.stored("endpointslices", NS, n) for n in api.names("endpointslices")]


def endpoints_of(api: MemoryApi) -> dict[str, dict[str, Any]]:
    """Each endpoint by its pod (or address), as JSON, with its slice's ports."""
    out = {}
    for s in slices(api):
        ports = [(p.name, p.port) for p in s.ports]
        for ep in s.endpoints:
            out[ep.target_ref.name or ep.addresses[0]] = {**to_dict(ep), "ports": ports}
    return out


async def test_slices_are_labelled_and_owned_as_kubernetes_writes_them() -> None:
    api = MemoryApi()
    api.put(service(clusterIP="None"))
    await sync_once(api, EndpointSliceController)
    (only,) = slices(api)  # the one empty slice of a Service without endpoints
    assert (list(only.endpoints), list(only.ports), only.address_type) == ([], [], "IPv4")
    assert dict(only.metadata.labels) == {
        "tier": "front",
        "service.kubernetes.io/headless": "",
        "kubernetes.io/service-name": "web",
        MANAGED_BY: "endpointslice-controller.k8s.io",
    }
    (owner,) = only.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid, owner.controller) == (
        "Service",
        "web",
        "u-web",
        True,
    )


async def test_a_terminating_pod_stays_serving_but_not_ready_and_zones_are_shown() -> None:
    api = MemoryApi()
    api.put(service())
    api.put(node("n1", zone="eu-1a"))
    api.put(pod("up", ip(1)))
    api.put(pod("leaving", ip(2), terminating=True))
    api.put(pod("leaving-unready", ip(3), terminating=True, ready=False))
    api.put(pod("starting", ip(4), ready=False))
    await sync_once(api, EndpointSliceController)
    seen = endpoints_of(api)
    conditions = {name: tuple(ep["conditions"].values()) for name, ep in seen.items()}
    assert conditions == {  # ready, serving, terminating
        "up": (True, True, False),
        "leaving": (False, True, True),
        "leaving-unready": (False, False, True),
        "starting": (False, False, False),
    }
    assert {ep["zone"] for ep in seen.values()} == {"eu-1a"}
    assert {ep["nodeName"] for ep in seen.values()} == {"n1"}


async def test_serving_is_the_pods_readiness_when_not_ready_addresses_are_published() -> None:
    api = MemoryApi()
    api.put(service(publishNotReadyAddresses=True))
    api.put(pod("starting", ip(1), ready=False))
    api.put(pod("leaving", ip(2), terminating=True))
    await sync_once(api, EndpointSliceController)
    conditions = {n: tuple(ep["conditions"].values()) for n, ep in endpoints_of(api).items()}
    assert conditions == {"starting": (True, False, False), "leaving": (True, True, True)}


async def test_pods_numbering_a_named_port_differently_or_lacking_it_get_their_own_slices() -> None:
    api = MemoryApi()
    api.put(service())
    api.put(pod("a", ip(1), http=8080))
    api.put(pod("b", ip(2), http=9090))
    lacking = pod("c", ip(3))
    lacking.spec.containers[0].ports[0].name = "other"
    api.put(lacking)
    await sync_once(api, EndpointSliceController)
    assert {n: ep["ports"] for n, ep in endpoints_of(api).items()} == {
        "a": [("http", 8080)],
        "b": [("http", 9090)],
        "c": [],
    }
    assert len(slices(api)) == 3


async def test_slices_hold_at_most_100_endpoints_and_show_every_pod() -> None:
    api = MemoryApi()
    api.put(service())
    for i in range(1050):
        api.put(pod(f"p{i}", ip(i)))
    await sync_once(api, EndpointSliceController)
    assert sorted(len(s.endpoints) for s in slices(api)) == [50] + [100] * 10


async def test_an_endpoint_stays_in_its_slice_while_others_come_and_go() -> None:
    api = MemoryApi()
    api.put(service())
    for i in range(150):
        api.put(pod(f"p{i:03}", ip(i)))
    await sync_once(api, EndpointSliceController)
    before = {name: s for s in slices(api) for name in [s.metadata.name]}
    home = {ep.target_ref.name: s.metadata.name for s in before.values() for ep in s.endpoints}

    gone = next(n for n, s in home.items() if len(before[s].endpoints) == 50)
    del api.objects[("pods", NS, gone)]
    api.put(pod("newcomer", ip(200)))
    await sync_once(api, EndpointSliceController)
    after = {s.metadata.name: s for s in slices(api)}
    assert set(after) == set(before)
    moved = {
        ep.target_ref.name: name
        for name, s in after.items()
        for ep in s.endpoints
        if home.get(ep.target_ref.name, name) != name
    }
    assert moved == {}  # nobody moved; the newcomer took the freed place
    assert {ep.target_ref.name for ep in after[home[gone]].endpoints} >= {"newcomer"}
    full = next(n for n, s in before.items() if len(s.endpoints) == 100)
    assert after[full].metadata.resource_version == before[full].metadata.resource_version

    writes = len(api.updates)
    await sync_once(api, EndpointSliceController)
    assert (len(api.updates), api.names("endpointslices")) == (writes, sorted(after))


async def test_a_selectorless_services_endpoints_are_mirrored() -> None:
    api = MemoryApi()
    api.put(service(selector={}))
    await sync_once(api, EndpointSliceController)
    assert slices(api) == []  # no Endpoints yet: nothing to mirror, no empty slice

    api.put(from_dict(core_pb2.Endpoints, {
        "metadata": {"name": "web", "namespace": NS, "uid": "u-ep", "labels": {"team": "db"},
                     "annotations": {"note": "by hand"}},
        "subsets": [{"addresses": [{"ip": "10.1.0.5", "nodeName": "n1"}],
                     "notReadyAddresses": [{"ip": "10.1.0.6"}],
                     "ports": [{"name": "sql", "port": 5432, "protocol": "TCP"}]}],
    }))  # fmt: skip
    await sync_once(api, EndpointSliceController)
    (mirrored,) = slices(api)
    assert dict(mirrored.metadata.labels) == {
        "team": "db",
        "kubernetes.io/service-name": "web",
        MANAGED_BY: "endpointslicemirroring-controller.k8s.io",
    }
    assert dict(mirrored.metadata.annotations) == {"note": "by hand"}
    (owner,) = mirrored.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid) == ("Endpoints", "web", "u-ep")
    assert to_dict(mirrored)["endpoints"] == [
        {"addresses": ["10.1.0.5"], "conditions": {"ready": True}, "nodeName": "n1"},
        {"addresses": ["10.1.0.6"], "conditions": {"ready": False}},
    ]

    skipped = api.stored("endpoints", NS, "web")
    skipped.metadata.labels["endpointslice.kubernetes.io/skip-mirror"] = "true"
    api.put(skipped)
    await sync_once(api, EndpointSliceController)
    assert slices(api) == []


async def test_slices_go_with_the_service_and_change_hands_with_its_selector() -> None:
    api = MemoryApi()
    api.put(service())
    api.put(pod("a", ip(1)))
    api.put(from_dict(core_pb2.Endpoints, {
        "metadata": {"name": "web", "namespace": NS},
        "subsets": [{"addresses": [{"ip": "10.1.0.5"}], "ports": [{"port": 5432}]}],
    }))  # fmt: skip
    await sync_once(api, EndpointSliceController)
    managers = {s.metadata.labels[MANAGED_BY] for s in slices(api)}
    assert managers == {"endpointslice-controller.k8s.io"}

    api.put(service(selector={}))
    await sync_once(api, EndpointSliceController)
    managers = {s.metadata.labels[MANAGED_BY] for s in slices(api)}
    assert managers == {"endpointslicemirroring-controller.k8s.io"}

    del api.objects[("services", NS, "web")]
    await sync_once(api, EndpointSliceController)
    assert slices(api) == []

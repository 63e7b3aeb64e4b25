"""The EndpointSlices of a Service, derived from its Endpoints."""

from __future__ import annotations

from typing import Any

from client.codec import from_dict, to_dict
from master.controllers.endpointslice import endpoint_slices
from proto import core_pb2

SERVICE = from_dict(core_pb2.Service, {
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "labels": {"tier": "front"}},
    "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
})  # fmt: skip


def endpoints(subsets: list[dict[str, Any]]) -> core_pb2.Endpoints:
    meta = {"name": "web", "namespace": "shop"}
    return from_dict(core_pb2.Endpoints, {"metadata": meta, "subsets": subsets})


def test_each_subset_is_a_slice_with_its_ports_and_every_address_with_its_conditions() -> None:
    ready = {"ip": "172.30.1.5", "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "a"}}
    slices = endpoint_slices(SERVICE, endpoints([
        {"addresses": [ready], "notReadyAddresses": [{"ip": "172.30.1.6", "hostname": "b"}],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
        {"addresses": [{"ip": "172.30.2.7"}], "ports": [{"name": "http", "port": 9090}]},
    ]))  # fmt: skip

    first = to_dict(slices[0])
    assert first["addressType"] == "IPv4"
    assert first["metadata"]["labels"] == {
        "tier": "front",
        "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    (owner,) = first["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "Service", "web", "u-1", True,
    )  # fmt: skip
    assert first["ports"] == [{"name": "http", "protocol": "TCP", "port": 8080}]
    assert first["endpoints"] == [
        {"addresses": ["172.30.1.5"], "nodeName": "n1",
         "targetRef": {"kind": "Pod", "name": "a"},
         "conditions": {"ready": True, "serving": True, "terminating": False}},
        {"addresses": ["172.30.1.6"], "hostname": "b",
         "conditions": {"ready": False, "serving": False, "terminating": False}},
    ]  # fmt: skip
    assert [p["port"] for p in to_dict(slices[1])["ports"]] == [9090]
    assert len({s.metadata.name for s in slices}) == 2
    assert all(s.metadata.name.startswith("web-") for s in slices)


def test_a_slice_holds_at_most_100_endpoints_and_names_stay_the_same() -> None:
    many = [{"ip": f"172.30.{i // 200}.{i % 200 + 1}"} for i in range(250)]
    subsets = [{"addresses": many, "ports": [{"name": "http", "port": 8080}]}]
    slices = endpoint_slices(SERVICE, endpoints(subsets))
    assert [len(s.endpoints) for s in slices] == [100, 100, 50]
    again = endpoint_slices(SERVICE, endpoints(subsets))
    assert [s.metadata.name for s in again] == [s.metadata.name for s in slices]
    assert len({s.metadata.name for s in slices}) == 3


def test_a_service_without_endpoints_has_one_empty_slice() -> None:
    for ep in (None, endpoints([])):
        (only,) = endpoint_slices(SERVICE, ep)
        assert (list(only.endpoints), list(only.ports)) == ([], [])

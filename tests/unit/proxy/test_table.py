"""Services + Endpoints -> what a node's proxy serves."""

from __future__ import annotations

from typing import Any

from client.codec import from_dict
from proto import core_pb2
from proxy.table import Backend, Listen, build


def svc(spec: dict[str, Any], name: str = "web") -> core_pb2.Service:
    return from_dict(
        core_pb2.Service, {"metadata": {"name": name, "namespace": "default"}, "spec": spec}
    )


def eps(subsets: list[dict[str, Any]], name: str = "web") -> dict[str, core_pb2.Endpoints]:
    obj = from_dict(
        core_pb2.Endpoints, {"metadata": {"name": name, "namespace": "default"}, "subsets": subsets}
    )
    return {f"default/{name}": obj}


def test_a_node_port_service_listens_on_the_cluster_ip_and_the_node_address() -> None:
    s = svc({"type": "NodePort", "clusterIP": "172.30.255.5",
             "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]})
    e = eps([{"addresses": [{"ip": "172.30.1.2"}, {"ip": "172.30.2.2"}],
              "notReadyAddresses": [{"ip": "172.30.3.2"}],
              "ports": [{"port": 8080, "protocol": "TCP"}]}])

    table = build([s], e, "127.0.0.2")

    port = table["default/web"]
    assert port.listens == (Listen("TCP", "172.30.255.5", 80), Listen("TCP", "127.0.0.2", 30080))
    assert port.backends == (Backend("172.30.1.2", 8080), Backend("172.30.2.2", 8080))


def test_named_ports_match_endpoint_ports_by_name_and_protocol() -> None:
    s = svc({"clusterIP": "172.30.255.5", "ports": [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web"},
        {"name": "dns", "port": 53, "protocol": "UDP"},
    ]})
    e = eps([
        {"addresses": [{"ip": "172.30.1.2"}],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                   {"name": "dns", "port": 5353, "protocol": "UDP"}]},
        {"addresses": [{"ip": "172.30.2.2"}], "ports": [{"name": "http", "port": 9090}]},
    ])

    table = build([s], e, "127.0.0.2")

    assert table["default/web:http"].backends == (
        Backend("172.30.1.2", 8080), Backend("172.30.2.2", 9090)
    )
    assert table["default/web:dns"].backends == (Backend("172.30.1.2", 5353),)
    assert table["default/web:dns"].listens == (Listen("UDP", "172.30.255.5", 53),)


def test_headless_and_unallocated_services_are_not_proxied() -> None:
    headless = svc({"clusterIP": "None", "ports": [{"port": 80}]}, "db")
    pending = svc({"ports": [{"port": 80}]}, "new")
    assert build([headless, pending], {}, "127.0.0.2") == {}


def test_client_ip_affinity_carries_its_timeout() -> None:
    s = svc({"clusterIP": "172.30.255.5", "sessionAffinity": "ClientIP",
             "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 30}},
             "ports": [{"port": 80}]})
    assert build([s], {}, "127.0.0.2")["default/web"].affinity_timeout == 30.0


def test_a_cluster_ip_service_gets_no_node_port_listener() -> None:
    s = svc({"type": "ClusterIP", "clusterIP": "172.30.255.5",
             "ports": [{"port": 80, "nodePort": 30080}]})
    assert build([s], {}, "127.0.0.2")["default/web"].listens == (
        Listen("TCP", "172.30.255.5", 80),
    )

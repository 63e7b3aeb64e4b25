"""ClusterIP and nodePort allocation by real API servers on one etcd."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from client.api import ApiClient
from client.errors import Invalid
from proto import core_pb2
from tests.integration.proxy.conftest import service

RANGE = ipaddress.ip_network("172.30.255.0/24")


async def test_a_service_gets_a_cluster_ip_from_the_range_and_a_node_port(api: ApiClient) -> None:
    s = service("web")
    s.spec.type = "NodePort"

    created = await api.create(s)

    assert ipaddress.ip_address(created.spec.cluster_ip) in RANGE
    assert created.spec.cluster_ip != "172.30.255.10", "the DNS address is reserved"
    assert list(created.spec.cluster_ips) == [created.spec.cluster_ip]
    assert 30000 <= created.spec.ports[0].node_port <= 32767


async def test_a_headless_service_gets_no_address(api: ApiClient) -> None:
    s = service("db")
    s.spec.cluster_ip = "None"
    assert (await api.create(s)).spec.cluster_ip == "None"


async def test_a_node_port_clash_is_refused_naming_the_field(api: ApiClient) -> None:
    await api.create(service("one", node_port=30080))

    with pytest.raises(Invalid) as caught:
        await api.create(service("two", node_port=30080))

    assert "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated" in (
        caught.value.message
    )


async def test_a_node_port_out_of_range_is_refused_naming_the_field(api: ApiClient) -> None:
    with pytest.raises(Invalid, match=r"spec.ports\[0\].nodePort: .*30000-32767"):
        await api.create(service("one", node_port=8080))


async def test_a_cluster_ip_outside_the_range_or_taken_is_refused(api: ApiClient) -> None:
    with pytest.raises(Invalid, match=r"spec.clusterIP: .*not in the valid range"):
        await api.create(service("a", cluster_ip="192.0.2.9"))
    await api.create(service("b", cluster_ip="172.30.255.77"))
    with pytest.raises(Invalid, match=r"spec.clusterIP: .*already allocated"):
        await api.create(service("c", cluster_ip="172.30.255.77"))
    with pytest.raises(Invalid, match=r"spec.clusterIP: .*already allocated"):
        await api.create(service("d", cluster_ip="172.30.255.10"))


async def test_deleting_a_service_frees_its_address_and_port(api: ApiClient) -> None:
    await api.create(service("one", node_port=30081, cluster_ip="172.30.255.81"))
    await api.delete("services", "default", "one")

    again = await api.create(service("two", node_port=30081, cluster_ip="172.30.255.81"))

    assert again.spec.ports[0].node_port == 30081


async def test_an_update_keeps_what_was_allocated_and_a_type_change_frees_the_port(
    api: ApiClient,
) -> None:
    created = await api.create(service("web", node_port=30082))
    change = service("web")  # as a manifest re-applied without the allocated values
    change.spec.type = "NodePort"
    change.metadata.resource_version = created.metadata.resource_version

    kept = await api.update(change)

    assert kept.spec.cluster_ip == created.spec.cluster_ip
    assert kept.spec.ports[0].node_port == 30082

    to_cluster_ip = service("web")
    to_cluster_ip.metadata.resource_version = kept.metadata.resource_version
    await api.update(to_cluster_ip)
    assert (await api.create(service("other", node_port=30082))).spec.ports[0].node_port == 30082


def local_balancer(name: str, node_port: int = 0, health_port: int = 0) -> core_pb2.Service:
    svc = service(name, node_port=node_port)
    svc.spec.type = "LoadBalancer"
    svc.spec.external_traffic_policy = "Local"
    svc.spec.health_check_node_port = health_port
    return svc


async def test_a_local_load_balancer_holds_a_health_check_port_until_it_no_longer_needs_one(
    api: ApiClient,
) -> None:
    created = await api.create(local_balancer("lb", node_port=30083))
    health = created.spec.health_check_node_port
    assert 30000 <= health <= 32767 and health != 30083

    # Re-applied without it, it is kept; another value is refused, naming the field.
    again = local_balancer("lb", node_port=30083)
    again.metadata.resource_version = created.metadata.resource_version
    kept = await api.update(again)
    assert kept.spec.health_check_node_port == health
    moved = local_balancer("lb", node_port=30083, health_port=30084)
    moved.metadata.resource_version = kept.metadata.resource_version
    with pytest.raises(Invalid, match=r"spec.healthCheckNodePort: Invalid value: 30084: cannot "):
        await api.update(moved)
    # Back to Cluster with the old value still in the body (as `kubectl apply` sends it):
    # the port is dropped and free for another Service.
    cluster = local_balancer("lb", node_port=30083, health_port=health)
    cluster.spec.external_traffic_policy = "Cluster"
    cluster.metadata.resource_version = kept.metadata.resource_version
    assert (await api.update(cluster)).spec.health_check_node_port == 0
    assert (await api.create(service("other", node_port=health))).spec.ports[0].node_port == health


async def test_a_health_check_port_where_none_is_needed_or_already_taken_is_refused(
    api: ApiClient,
) -> None:
    cluster = local_balancer("a", health_port=30085)
    cluster.spec.external_traffic_policy = "Cluster"
    with pytest.raises(Invalid, match=r"spec.healthCheckNodePort: Invalid value: 30085: may "):
        await api.create(cluster)
    await api.create(service("b", node_port=30086))
    with pytest.raises(
        Invalid, match=r"spec.healthCheckNodePort: Invalid value: 30086: provided port is already"
    ):
        await api.create(local_balancer("c", health_port=30086))
    with pytest.raises(Invalid, match=r"spec.healthCheckNodePort: Duplicate value: 30087"):
        await api.create(local_balancer("d", node_port=30087, health_port=30087))


async def test_a_type_change_drops_the_fields_sent_back_unchanged_and_frees_them(
    api: ApiClient,
) -> None:
    created = await api.create(service("web", node_port=30088))
    # As `kubectl patch -p '{"spec":{"type":"ClusterIP"}}'` sends it: the rest as stored.
    changed: Any = await api.get("services", "default", "web")
    changed.spec.type = "ClusterIP"
    plain = await api.update(changed)
    assert plain.spec.ports[0].node_port == 0
    assert (await api.create(service("other", node_port=30088))).spec.ports[0].node_port == 30088

    plain.spec.type = "ExternalName"
    plain.spec.external_name = "db.example.com"
    named = await api.update(plain)
    assert (named.spec.cluster_ip, list(named.spec.cluster_ips)) == ("", [])
    assert (named.spec.ip_family_policy, list(named.spec.ip_families)) == ("", [])
    again = await api.create(service("third", cluster_ip=created.spec.cluster_ip))
    assert again.spec.cluster_ip == created.spec.cluster_ip


async def test_a_load_balancer_without_node_port_allocation_holds_only_those_given(
    api: ApiClient,
) -> None:
    given = core_pb2.ServicePort(name="b", port=81, node_port=30089)
    lb = service("lb", ports=[core_pb2.ServicePort(name="a", port=80), given])
    lb.spec.type = "LoadBalancer"
    lb.spec.allocate_load_balancer_node_ports = False
    created = await api.create(lb)
    assert [p.node_port for p in created.spec.ports] == [0, 30089]
    assert (await api.create(local_balancer("default-lb"))).spec.allocate_load_balancer_node_ports


async def test_a_load_balancer_turned_cluster_ip_drops_its_class_and_allocation_choice(
    api: ApiClient,
) -> None:
    lb = service("classy")
    lb.spec.type = "LoadBalancer"
    lb.spec.load_balancer_class = "example.com/metal"
    lb.spec.allocate_load_balancer_node_ports = False
    await api.create(lb)
    # Sent back as stored, as `kubectl patch` does: only the type differs.
    changed: Any = await api.get("services", "default", "classy")
    changed.spec.type = "ClusterIP"
    plain = await api.update(changed)
    assert plain.spec.load_balancer_class == ""
    assert not plain.spec.HasField("allocate_load_balancer_node_ports")


async def test_two_api_servers_never_hand_out_the_same_address(apiserver_factory) -> None:
    servers = [await apiserver_factory.start(), await apiserver_factory.start()]
    clients = [ApiClient([s.endpoint]) for s in servers]
    try:
        created = await asyncio.gather(
            *(clients[i % 2].create(service(f"svc-{i}", node_port=0)) for i in range(40)),
            return_exceptions=True,
        )
    finally:
        for c in clients:
            await c.close()
    ips = [c.spec.cluster_ip for c in created if not isinstance(c, BaseException)]
    assert len(ips) == len(set(ips)), "an address was handed out twice"
    # A create that loses an address to the other server claims another (registry.py).
    failed = [c for c in created if isinstance(c, BaseException)]
    assert not failed, f"creates failed: {failed}"


async def test_a_configured_range_is_used_and_a_full_one_is_reported(
    api: ApiClient, apiserver: Any
) -> None:
    from master.apiserver.allocators import ServiceAllocator

    apiserver.service.registry.allocator = ServiceAllocator(
        apiserver.etcd, "172.30.254.0/30", (31000, 31000)
    )
    first = await api.create(service("a", node_port=0))
    first_np = service("np")
    first_np.spec.type = "NodePort"
    with_port = await api.create(first_np)

    assert first.spec.cluster_ip in ("172.30.254.1", "172.30.254.2")
    assert with_port.spec.ports[0].node_port == 31000
    another = service("c")
    another.spec.type = "NodePort"
    with pytest.raises(Invalid, match=r"range 172\.30\.254\.0/30 is full|31000-31000 is full"):
        await api.create(another)

"""The kubelet's pod IPAM: addresses from the node's podCIDR, recovered from the runtime."""

from __future__ import annotations

import ipaddress

import pytest

from kubelet.network.ipam import IPAMError, PodIPAM, docker_range, pod_network, usable_hosts


def test_pods_never_get_the_network_gateway_or_broadcast_address() -> None:
    ipam = PodIPAM("172.30.3.0/29")
    got = [ipam.allocate(f"pod-{i}") for i in range(ipam.capacity)]
    assert got == ["172.30.3.2", "172.30.3.3", "172.30.3.4", "172.30.3.5", "172.30.3.6"]
    assert usable_hosts("172.30.3.0/24") == (
        ipaddress.IPv4Address("172.30.3.2"),
        ipaddress.IPv4Address("172.30.3.254"),
    )


def test_a_full_pod_cidr_is_a_clear_error() -> None:
    ipam = PodIPAM("172.30.3.0/30")
    ipam.allocate("a")
    with pytest.raises(IPAMError, match=r"172.30.3.0/30 is full: all 1 pod addresses"):
        ipam.allocate("b")


def test_the_same_owner_keeps_its_address() -> None:
    ipam = PodIPAM("172.30.3.0/24")
    first = ipam.allocate("sandbox-a")
    assert ipam.allocate("sandbox-a") == first
    ipam.observe({first: "sandbox-a"})
    assert ipam.allocate("sandbox-a") == first


def test_addresses_held_by_running_sandboxes_are_recovered_after_a_restart() -> None:
    before = PodIPAM("172.30.3.0/24")
    held = {before.allocate(f"sandbox-{i}"): f"sandbox-{i}" for i in range(5)}
    restarted = PodIPAM("172.30.3.0/24")
    restarted.observe(held)
    fresh = {restarted.allocate(f"new-{i}") for i in range(200)}
    assert not fresh & set(held)
    assert len(fresh) == 200


def test_pending_allocations_are_not_given_twice_before_the_runtime_reports_them() -> None:
    ipam = PodIPAM("172.30.3.0/24")
    a = ipam.allocate("a")
    ipam.observe({})  # the runtime has not created "a" yet
    assert ipam.allocate("b") != a
    ipam.observe({a: "a"})
    assert ipam.in_use()[a] == "a"


def test_a_released_address_is_not_reused_at_once() -> None:
    ipam = PodIPAM("172.30.3.0/24")
    a = ipam.allocate("a")
    ipam.release("a")
    assert ipam.allocate("b") != a


def test_addresses_outside_the_pod_cidr_are_ignored() -> None:
    ipam = PodIPAM("172.30.3.0/24")
    ipam.observe({"172.30.4.2": "other-node", "": "no-ip"})
    assert ipam.in_use() == {}


def test_an_address_taken_by_someone_else_is_skipped() -> None:
    ipam = PodIPAM("172.30.3.0/29")
    a = ipam.allocate("a")
    ipam.taken_elsewhere(a)
    assert ipam.allocate("a") != a


def test_reserved_addresses_are_never_allocated() -> None:
    ipam = PodIPAM("172.30.3.0/29", reserved=["172.30.3.2", "172.30.3.3"])
    assert ipam.capacity == 3
    assert sorted(ipam.allocate(str(i)) for i in range(3)) == [
        "172.30.3.4",
        "172.30.3.5",
        "172.30.3.6",
    ]


@pytest.mark.parametrize(
    "cidr, message",
    [
        ("172.30.3.0/33", "is not a network"),
        ("172.30.3.1/24", "is not a network"),
        ("fd00::/64", "only IPv4"),
        ("172.30.3.0/31", "too small"),
    ],
    ids=["bad-prefix", "host-bits-set", "ipv6", "too-small"],
)
def test_a_bad_pod_cidr_is_refused_naming_it(cidr: str, message: str) -> None:
    with pytest.raises(IPAMError, match=message) as e:
        PodIPAM(cidr)
    assert cidr in str(e.value)


@pytest.mark.parametrize(
    "cluster, services, network",
    [
        ("172.30.0.0/16", "172.30.255.0/24", "172.30.0.0/17"),
        ("172.30.0.0/16", "172.30.0.0/24", "172.30.128.0/17"),
        ("172.30.0.0/16", "10.96.0.0/12", "172.30.0.0/16"),
        ("172.30.0.0/16", "", "172.30.0.0/16"),
    ],
    ids=["default", "services-first", "services-elsewhere", "no-services"],
)
def test_the_pod_bridge_is_the_cluster_cidr_clear_of_the_service_range(
    cluster: str, services: str, network: str
) -> None:
    assert pod_network(cluster, services) == network


def test_a_bad_cluster_cidr_names_the_flag() -> None:
    with pytest.raises(IPAMError, match="--cluster-cidr"):
        pod_network("172.30.0.1/16", "172.30.255.0/24")
    with pytest.raises(IPAMError, match="--service-cluster-ip-range"):
        pod_network("172.30.0.0/16", "nonsense")


def test_docker_picks_addresses_only_from_the_last_node_range() -> None:
    assert docker_range("172.30.0.0/17") == "172.30.127.0/24"
    assert docker_range("172.30.3.0/26") == "172.30.3.0/26"

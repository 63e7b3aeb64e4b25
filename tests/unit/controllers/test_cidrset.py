"""CIDRSet: node IPAM's ledger of taken ranges answers as enumerating the subnets would.

The reference below is what node IPAM did before the ledger (walk the cluster CIDR's
subnets from the start, skip the taken ones); the ledger must give the same answers
after any sequence of occupy, release and allocate, without ever walking the subnets.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from master.controllers.cidrset import CIDRError, CIDRSet
from master.controllers.nodeipam import first_free


def lowest_free(cluster_cidr: str, mask: int, used: set[str]) -> str | None:
    """The old first_free: the first subnet, in address order, not in `used`."""
    for subnet in ipaddress.ip_network(cluster_cidr).subnets(new_prefix=mask):
        if str(subnet) not in used:
            return str(subnet)
    return None


def test_allocations_go_up_from_the_lowest_range_and_skip_the_taken_ones() -> None:
    cidrs = CIDRSet("10.0.0.0/16", 24)
    assert cidrs.occupy("10.0.1.0/24")
    assert [cidrs.allocate() for _ in range(3)] == ["10.0.0.0/24", "10.0.2.0/24", "10.0.3.0/24"]
    assert len(cidrs) == 4
    assert "10.0.1.0/24" in cidrs
    assert "10.0.4.0/24" not in cidrs


def test_a_released_range_is_the_next_one_handed_out() -> None:
    cidrs = CIDRSet("10.0.0.0/16", 24)
    for _ in range(10):
        cidrs.allocate()
    cidrs.release("10.0.3.0/24")
    cidrs.release("10.0.7.0/24")
    assert cidrs.allocate() == "10.0.3.0/24"
    assert cidrs.allocate() == "10.0.7.0/24"
    assert cidrs.allocate() == "10.0.10.0/24"


def test_occupy_is_idempotent_and_release_of_a_free_range_changes_nothing() -> None:
    cidrs = CIDRSet("10.0.0.0/16", 24)
    assert cidrs.occupy("10.0.0.0/24")
    assert cidrs.occupy("10.0.0.0/24")
    cidrs.release("10.0.5.0/24")
    assert len(cidrs) == 1
    assert cidrs.allocate() == "10.0.1.0/24"


@pytest.mark.parametrize(
    "cidr",
    ["10.1.0.0/24", "9.255.255.0/24", "10.0.0.0/16", "10.0.0.0/25", "fd00::/120", "a range", ""],
    ids=["after", "before", "wider", "narrower", "other-family", "garbage", "empty"],
)
def test_ranges_outside_the_cluster_or_of_another_size_are_refused(cidr: str) -> None:
    cidrs = CIDRSet("10.0.0.0/16", 24)
    assert not cidrs.occupy(cidr)
    cidrs.release(cidr)
    assert len(cidrs) == 0
    assert cidrs.allocate() == "10.0.0.0/24"


def test_a_range_written_with_host_bits_is_the_range_it_names() -> None:
    # The API server accepts "10.0.0.5/24" as a podCIDR; 10.0.0.0/24 is in use all the same.
    cidrs = CIDRSet("10.0.0.0/16", 24)
    assert cidrs.occupy("10.0.0.5/24")
    assert cidrs.allocate() == "10.0.1.0/24"


def test_a_full_cluster_cidr_answers_none_until_a_range_is_released() -> None:
    cidrs = CIDRSet("10.0.0.0/30", 31)
    assert [cidrs.allocate(), cidrs.allocate()] == ["10.0.0.0/31", "10.0.0.2/31"]
    assert cidrs.allocate() is None
    assert cidrs.allocate() is None
    cidrs.release("10.0.0.2/31")
    assert cidrs.allocate() == "10.0.0.2/31"
    assert cidrs.allocate() is None


def test_the_service_range_of_a_slash_8_is_reserved_without_walking_its_subnets() -> None:
    cidrs = CIDRSet("10.0.0.0/8", 24, reserve="10.96.0.0/12")
    assert cidrs.size == 65_536
    assert cidrs.reserved == range(96 * 256, 112 * 256)
    assert "10.96.0.0/24" in cidrs
    assert "10.111.255.0/24" in cidrs
    assert "10.112.0.0/24" not in cidrs
    for i in range(96 * 256):
        cidrs.occupy(cidrs.cidr(i))
    assert cidrs.allocate() == "10.112.0.0/24"


def test_a_reservation_of_two_to_the_56_ranges_is_one_interval() -> None:
    # Enumerating these would never end: only the overlap's two ends are computed.
    cidrs = CIDRSet("fd00::/48", 120, reserve="fd00::/64")
    assert len(cidrs.reserved) == 2**56
    assert cidrs.allocate() == "fd00:0:0:1::/120"


@pytest.mark.parametrize(
    ("reserve", "reserved"),
    [
        ("", range(0)),
        ("172.30.255.0/24", range(0)),
        ("fd00::/64", range(0)),
        ("10.0.3.128/25", range(3, 4)),
        ("10.0.0.0/8", range(0, 256)),
        ("10.0.254.0/23", range(254, 256)),
    ],
    ids=["none", "elsewhere", "other-family", "inside-one-range", "around-it-all", "at-the-end"],
)
def test_only_the_ranges_overlapping_the_service_range_are_reserved(
    reserve: str, reserved: range
) -> None:
    assert CIDRSet("10.0.0.0/16", 24, reserve=reserve).reserved == reserved


def test_a_released_reserved_range_stays_reserved() -> None:
    cidrs = CIDRSet("10.0.0.0/30", 31, reserve="10.0.0.0/31")
    assert cidrs.occupy("10.0.0.0/31")  # a node someone else gave it keeps it
    cidrs.release("10.0.0.0/31")
    assert cidrs.allocate() == "10.0.0.2/31"
    assert cidrs.allocate() is None


def test_a_bad_cluster_cidr_or_mask_is_refused() -> None:
    with pytest.raises(CIDRError, match="--cluster-cidr"):
        CIDRSet("10.0.0.1/16", 24)
    with pytest.raises(CIDRError, match="--node-cidr-mask-size"):
        CIDRSet("10.0.0.0/16", 8)


CLUSTERS = [("10.0.0.0/22", 26), ("10.0.0.0/24", 28), ("fd00::/60", 64)]


@settings(max_examples=200, deadline=None)
@given(
    cluster=st.sampled_from(CLUSTERS),
    used=st.sets(st.integers(0, 15)),
    strays=st.lists(st.sampled_from(["10.0.4.0/26", "10.0.0.0/24", "fd01::/64", "x"])),
)
def test_first_free_answers_as_the_subnet_walk_did(
    cluster: tuple[str, int], used: set[int], strays: list[str]
) -> None:
    cidr, mask = cluster
    subnets = [str(s) for s in ipaddress.ip_network(cidr).subnets(new_prefix=mask)]
    taken = {subnets[i] for i in used} | set(strays)
    assert first_free(cidr, mask, taken) == lowest_free(cidr, mask, taken)


@settings(max_examples=200, deadline=None)
@given(
    cluster=st.sampled_from(CLUSTERS),
    steps=st.lists(
        st.tuples(st.sampled_from(["occupy", "release", "allocate"]), st.integers(0, 15))
    ),
)
def test_any_sequence_of_steps_allocates_as_the_subnet_walk_would(
    cluster: tuple[str, int], steps: list[tuple[str, int]]
) -> None:
    cidr, mask = cluster
    subnets = [str(s) for s in ipaddress.ip_network(cidr).subnets(new_prefix=mask)]
    cidrs = CIDRSet(cidr, mask)
    model: set[str] = set()
    for step, i in steps:
        if step == "occupy":
            assert cidrs.occupy(subnets[i])
            model.add(subnets[i])
        elif step == "release":
            cidrs.release(subnets[i])
            model.discard(subnets[i])
        else:
            expected = lowest_free(cidr, mask, model)
            assert cidrs.allocate() == expected
            if expected is not None:
                model.add(expected)
        assert len(cidrs) == len(model)

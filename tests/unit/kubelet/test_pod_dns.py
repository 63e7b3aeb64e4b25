"""A pod's dnsConfig merged with what its dnsPolicy gives, as Kubernetes merges them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelet.network import dns
from kubelet.network.dns import PodNaming, sandbox_dns

LOCAL = "127.0.0.53"
"""Stands for a cluster DNS address local to this host."""


def test_a_dns_config_comes_after_the_cluster_dns_and_its_options_win_by_name() -> None:
    naming = PodNaming(
        nameservers=["192.0.2.1"],
        searches=["ns1.svc.cluster-domain.example", "my.dns.search.suffix"],
        options=["ndots:2", "edns0"],
    )
    assert sandbox_dns("shop", LOCAL, naming=naming) == {
        "dns": [LOCAL, "192.0.2.1"],
        "dns_search": [
            "shop.svc.cluster.local",
            "svc.cluster.local",
            "cluster.local",
            "ns1.svc.cluster-domain.example",
            "my.dns.search.suffix",
        ],
        "dns_opt": ["ndots:2", "edns0"],
    }


def test_dns_policy_none_takes_the_dns_config_alone() -> None:
    naming = PodNaming(nameservers=["192.0.2.1"])
    assert sandbox_dns("shop", LOCAL, dns_policy="None", naming=naming) == {
        "dns": ["192.0.2.1"],
        "dns_search": ["."],  # Docker's word for no search domain at all
    }


def test_at_most_three_nameservers_reach_the_resolver() -> None:
    naming = PodNaming(nameservers=["192.0.2.1", "192.0.2.2", "192.0.2.3"])
    assert sandbox_dns("shop", LOCAL, naming=naming)["dns"] == [LOCAL, "192.0.2.1", "192.0.2.2"]


def test_dns_policy_default_adds_the_config_to_the_nodes_resolver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.53\nsearch corp.example\n")
    monkeypatch.setattr(dns, "HOST_RESOLV_CONF", str(resolv))
    assert (
        sandbox_dns("shop", LOCAL, dns_policy="Default", naming=PodNaming(hosts={"a": "b"})) == {}
    )
    naming = PodNaming(searches=["extra.example"])
    assert sandbox_dns("shop", LOCAL, dns_policy="Default", naming=naming) == {
        "dns": ["192.0.2.53"],
        "dns_search": ["corp.example", "extra.example"],
    }

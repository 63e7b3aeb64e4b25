"""Reading which addresses are in use, and the defaults both sides share."""

from __future__ import annotations

from pathlib import Path

from master.apiserver import allocators
from proxy import settings
from proxy.network import listening_ips


def test_listening_addresses_are_read_from_proc_net(tmp_path: Path) -> None:
    header = "  sl  local_address rem_address   st tx_queue rx_queue\n"
    # 172.30.255.5:80 LISTEN, 127.0.0.1:5000 ESTABLISHED (ignored), UDP 172.30.255.10:53
    (tmp_path / "tcp").write_text(
        header
        + "   0: 05FF1EAC:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
        + "   1: 0100007F:1388 0100007F:9C40 01 00000000:00000000 00:00000000 00000000\n"
    )
    (tmp_path / "udp").write_text(
        header + "   0: 0AFF1EAC:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000\n"
    )
    assert listening_ips(tmp_path) == {"172.30.255.5", "172.30.255.10"}


def test_the_proxy_and_the_api_server_agree_on_the_service_range_and_dns_address() -> None:
    assert settings.DEFAULT_SERVICE_RANGE == allocators.DEFAULT_SERVICE_RANGE
    assert settings.DEFAULT_CLUSTER_DNS_IP == allocators.DEFAULT_CLUSTER_DNS_IP


def test_node_ipam_never_hands_out_a_pod_cidr_inside_the_service_range() -> None:
    from master.controllers.nodeipam import _overlapping, first_free

    reserved = _overlapping("172.30.0.0/16", 24, "172.30.255.0/24")
    used = {f"172.30.{i}.0/24" for i in range(255)}

    assert reserved == {"172.30.255.0/24"}
    assert first_free("172.30.0.0/16", 24, used | reserved) is None
    assert _overlapping("10.50.0.0/16", 24, "172.30.255.0/24") == set()

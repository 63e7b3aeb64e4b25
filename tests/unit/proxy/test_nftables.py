"""nftables mode's rule text: exact for a fixed set of Services and Endpoints, and loadable.

The text is compared whole, so any change to the rule set shows in review as a change of
this file; `nft -c` then checks that the kernel's parser takes it (check mode, inside a
fresh network namespace so nothing on this machine is touched).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from client.codec import from_dict
from proto import core_pb2
from proxy.balancer import LEAST_CONNECTIONS, ROUND_ROBIN
from proxy.main import parse_args
from proxy.nftables import NftConfig, delete_script, render, rule_count
from proxy.settings import NFT_MIN_SYNC_INTERVAL, NFTABLES, USERSPACE
from proxy.table import build

NFT = shutil.which("nft") or "/usr/sbin/nft"


def svc(name: str, spec: dict[str, Any]) -> core_pb2.Service:
    meta = {"name": name, "namespace": "default"}
    return from_dict(core_pb2.Service, {"metadata": meta, "spec": spec})


def ep(name: str, subsets: list[dict[str, Any]]) -> core_pb2.Endpoints:
    meta = {"name": name, "namespace": "default"}
    return from_dict(core_pb2.Endpoints, {"metadata": meta, "subsets": subsets})


SERVICES = [
    svc(
        "web",
        {
            "type": "NodePort",
            "clusterIP": "172.30.255.20",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30080}],
        },
    ),
    svc(
        "sticky",
        {
            "clusterIP": "172.30.255.21",
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
    ),
    svc(
        "empty",
        {
            "type": "NodePort",
            "clusterIP": "172.30.255.22",
            "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}],
        },
    ),
    svc("dns", {"clusterIP": "172.30.255.10", "ports": [{"port": 53, "protocol": "UDP"}]}),
    svc("headless", {"clusterIP": "None", "ports": [{"port": 80}]}),
]
ENDPOINTS = {
    f"default/{e.metadata.name}": e
    for e in [
        ep(
            "web",
            [
                {
                    "addresses": [{"ip": "172.30.2.2"}, {"ip": "172.30.1.2"}],
                    "notReadyAddresses": [{"ip": "172.30.3.2"}],
                    "ports": [{"port": 8080, "protocol": "TCP"}],
                }
            ],
        ),
        ep(
            "sticky",
            [
                {
                    "addresses": [{"ip": "172.30.1.3"}, {"ip": "172.30.2.3"}],
                    "ports": [{"port": 8080, "protocol": "TCP"}],
                }
            ],
        ),
        ep(
            "empty",
            [
                {
                    "notReadyAddresses": [{"ip": "172.30.1.4"}],
                    "ports": [{"name": "dns", "port": 5353, "protocol": "UDP"}],
                }
            ],
        ),
        ep(
            "dns",
            [{"addresses": [{"ip": "172.30.1.5"}], "ports": [{"port": 53, "protocol": "UDP"}]}],
        ),
    ]
}
CONFIG = NftConfig(skip_ips=("172.30.255.10",))

EXPECTED = """\
add table ip tugboat-proxy
delete table ip tugboat-proxy
table ip tugboat-proxy {
\tmap service-ips {
\t\ttype ipv4_addr . inet_proto . inet_service : verdict
\t\telements = { 172.30.255.21 . tcp . 80 : goto svc-default/sticky/tcp/80, 172.30.255.20 . tcp . 80 : goto svc-default/web/tcp/80 }
\t}
\tmap service-nodeports {
\t\ttype inet_proto . inet_service : verdict
\t\telements = { tcp . 30080 : goto ext-default/web/tcp/80 }
\t}
\tset no-endpoint-services {
\t\ttype ipv4_addr . inet_proto . inet_service
\t\telements = { 172.30.255.22 . udp . 53 }
\t}
\tset no-endpoint-nodeports {
\t\ttype inet_proto . inet_service
\t\telements = { udp . 30053 }
\t}
\tset aff-default/sticky/tcp/80/172.30.1.3/8080 {
\t\ttype ipv4_addr
\t\tflags dynamic,timeout
\t\ttimeout 600s
\t}
\tset aff-default/sticky/tcp/80/172.30.2.3/8080 {
\t\ttype ipv4_addr
\t\tflags dynamic,timeout
\t\ttimeout 600s
\t}
\tchain mark-for-masquerade {
\t\tmeta mark set meta mark | 0x4000
\t}
\tchain masquerading {
\t\tmeta mark & 0x4000 == 0 return
\t\tmeta mark set meta mark ^ 0x4000
\t\tmeta l4proto tcp masquerade
\t\tmasquerade fully-random
\t}
\tchain services {
\t\tip daddr . meta l4proto . th dport vmap @service-ips
\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
\t}
\tchain endpoints-check {
\t\tip daddr . meta l4proto . th dport @no-endpoint-services reject
\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport @no-endpoint-nodeports reject
\t}
\tchain nat-prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tjump services
\t}
\tchain nat-output {
\t\ttype nat hook output priority -100; policy accept;
\t\tjump services
\t}
\tchain nat-postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tjump masquerading
\t}
\tchain filter-input {
\t\ttype filter hook input priority -110; policy accept;
\t\tct state new jump endpoints-check
\t}
\tchain filter-forward {
\t\ttype filter hook forward priority -110; policy accept;
\t\tct state new jump endpoints-check
\t}
\tchain filter-output {
\t\ttype filter hook output priority -110; policy accept;
\t\tct state new jump endpoints-check
\t}
\tchain svc-default/sticky/tcp/80 {
\t\tip saddr != 172.30.0.0/16 jump mark-for-masquerade
\t\tip saddr 172.30.255.0/24 jump mark-for-masquerade
\t\tip saddr @aff-default/sticky/tcp/80/172.30.1.3/8080 goto ep-default/sticky/tcp/80/172.30.1.3/8080
\t\tip saddr @aff-default/sticky/tcp/80/172.30.2.3/8080 goto ep-default/sticky/tcp/80/172.30.2.3/8080
\t\tnumgen random mod 2 vmap { 0 : goto ep-default/sticky/tcp/80/172.30.1.3/8080, 1 : goto ep-default/sticky/tcp/80/172.30.2.3/8080 }
\t}
\tchain ep-default/sticky/tcp/80/172.30.1.3/8080 {
\t\tip saddr 172.30.1.3 jump mark-for-masquerade
\t\tupdate @aff-default/sticky/tcp/80/172.30.1.3/8080 { ip saddr }
\t\tmeta l4proto tcp dnat to 172.30.1.3:8080
\t}
\tchain ep-default/sticky/tcp/80/172.30.2.3/8080 {
\t\tip saddr 172.30.2.3 jump mark-for-masquerade
\t\tupdate @aff-default/sticky/tcp/80/172.30.2.3/8080 { ip saddr }
\t\tmeta l4proto tcp dnat to 172.30.2.3:8080
\t}
\tchain svc-default/web/tcp/80 {
\t\tip saddr != 172.30.0.0/16 jump mark-for-masquerade
\t\tip saddr 172.30.255.0/24 jump mark-for-masquerade
\t\tnumgen random mod 2 vmap { 0 : goto ep-default/web/tcp/80/172.30.1.2/8080, 1 : goto ep-default/web/tcp/80/172.30.2.2/8080 }
\t}
\tchain ext-default/web/tcp/80 {
\t\tjump mark-for-masquerade
\t\tgoto svc-default/web/tcp/80
\t}
\tchain ep-default/web/tcp/80/172.30.1.2/8080 {
\t\tip saddr 172.30.1.2 jump mark-for-masquerade
\t\tmeta l4proto tcp dnat to 172.30.1.2:8080
\t}
\tchain ep-default/web/tcp/80/172.30.2.2/8080 {
\t\tip saddr 172.30.2.2 jump mark-for-masquerade
\t\tmeta l4proto tcp dnat to 172.30.2.2:8080
\t}
}
"""  # noqa: E501 (nft lines as they are)


def rules() -> str:
    return render(build(SERVICES, ENDPOINTS, "10.0.0.2").values(), CONFIG)


def test_the_rule_text_for_a_fixed_set_of_services_is_exact() -> None:
    assert rules() == EXPECTED


def test_the_text_does_not_depend_on_the_order_services_come_in() -> None:
    ports = list(build(SERVICES, ENDPOINTS, "10.0.0.2").values())
    assert render(reversed(ports), CONFIG) == EXPECTED


def test_rules_are_counted_inside_chains_only() -> None:
    # 15 in the fixed chains, 11 for "sticky" (service, two endpoints), 9 for "web".
    assert rule_count(EXPECTED) == 35
    assert rule_count(delete_script()) == 0


def _nft_in_fresh_netns(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or not shutil.which("unshare") or not os.path.exists(NFT):
        pytest.skip("needs root, unshare and nft")
    return subprocess.run(
        ["unshare", "-n", NFT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_nft_accepts_the_text_in_check_mode() -> None:
    done = _nft_in_fresh_netns("-c", "-f", "-", stdin=EXPECTED)
    assert done.returncode == 0, done.stderr


def test_nft_accepts_an_empty_rule_set_and_the_delete_script() -> None:
    done = _nft_in_fresh_netns("-c", "-f", "-", stdin=render([], CONFIG))
    assert done.returncode == 0, done.stderr
    done = _nft_in_fresh_netns("-c", "-f", "-", stdin=delete_script())
    assert done.returncode == 0, done.stderr


def test_the_mode_flag_picks_nftables_or_userspace_and_keeps_its_older_meaning() -> None:
    base = ["--node-name", "n1", "--address", "10.0.0.2", "--server", "127.0.0.1:6443"]
    nft, _, _ = parse_args([*base, "--mode", "nftables"])
    assert (nft.proxy_mode, nft.min_sync_interval) == (NFTABLES, NFT_MIN_SYNC_INTERVAL)
    assert NFT_MIN_SYNC_INTERVAL < 1.0  # an unready endpoint leaves the rules within 1 s
    default, _, _ = parse_args(base)
    assert (default.proxy_mode, default.mode) == (USERSPACE, ROUND_ROBIN)
    old, _, _ = parse_args([*base, "--mode", "least-connections"])
    assert (old.proxy_mode, old.mode) == (USERSPACE, LEAST_CONNECTIONS)
    new, _, _ = parse_args(
        [*base, "--balance", "least-connections", "--cluster-cidr", "10.1.0.0/16"]
    )
    assert (new.mode, new.cluster_cidr) == (LEAST_CONNECTIONS, "10.1.0.0/16")


POLICY_SERVICES = [
    svc(
        "keeps-source",
        {
            "type": "NodePort",
            "clusterIP": "172.30.255.30",
            "externalTrafficPolicy": "Local",
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30090}],
        },
    ),
    svc(
        "node-only",
        {
            "clusterIP": "172.30.255.31",
            "internalTrafficPolicy": "Local",
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
    ),
    svc(
        "both",
        {
            "type": "NodePort",
            "clusterIP": "172.30.255.32",
            "externalTrafficPolicy": "Local",
            "internalTrafficPolicy": "Local",
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30091}],
        },
    ),
]
TWO_NODES = [{"ip": "172.30.1.7", "nodeName": "node-1"}, {"ip": "172.30.2.7", "nodeName": "node-2"}]
POLICY_ENDPOINTS = {
    "default/keeps-source": ep("keeps-source", [{"addresses": TWO_NODES, "ports": [{"port": 80}]}]),
    "default/node-only": ep(
        "node-only",
        [{"addresses": [{"ip": "172.30.2.8", "nodeName": "node-2"}], "ports": [{"port": 80}]}],
    ),
    "default/both": ep("both", [{"addresses": TWO_NODES, "ports": [{"port": 80}]}]),
}

POLICY_CHAINS = """\
\tchain svc-default/both/tcp/80 {
\t\tip saddr != 172.30.0.0/16 jump mark-for-masquerade
\t\tip saddr 172.30.255.0/24 jump mark-for-masquerade
\t\tnumgen random mod 1 vmap { 0 : goto ep-default/both/tcp/80/172.30.1.7/80 }
\t}
\tchain cluster-default/both/tcp/80 {
\t\tnumgen random mod 2 vmap { 0 : goto ep-default/both/tcp/80/172.30.1.7/80, 1 : goto ep-default/both/tcp/80/172.30.2.7/80 }
\t}
\tchain ext-default/both/tcp/80 {
\t\tip saddr 172.30.0.0/16 goto cluster-default/both/tcp/80
\t\tfib saddr type local jump mark-for-masquerade
\t\tfib saddr type local goto cluster-default/both/tcp/80
\t\tnumgen random mod 1 vmap { 0 : goto ep-default/both/tcp/80/172.30.1.7/80 }
\t}
\tchain svc-default/keeps-source/tcp/80 {
\t\tip saddr != 172.30.0.0/16 jump mark-for-masquerade
\t\tip saddr 172.30.255.0/24 jump mark-for-masquerade
\t\tnumgen random mod 2 vmap { 0 : goto ep-default/keeps-source/tcp/80/172.30.1.7/80, 1 : goto ep-default/keeps-source/tcp/80/172.30.2.7/80 }
\t}
\tchain ext-default/keeps-source/tcp/80 {
\t\tip saddr 172.30.0.0/16 goto svc-default/keeps-source/tcp/80
\t\tfib saddr type local jump mark-for-masquerade
\t\tfib saddr type local goto svc-default/keeps-source/tcp/80
\t\tnumgen random mod 1 vmap { 0 : goto ep-default/keeps-source/tcp/80/172.30.1.7/80 }
\t}
\tchain svc-default/node-only/tcp/80 {
\t\tip saddr != 172.30.0.0/16 jump mark-for-masquerade
\t\tip saddr 172.30.255.0/24 jump mark-for-masquerade
\t\tdrop
\t}
"""  # noqa: E501 (nft lines as they are)
"""The chains that traffic policies shape, on node-1 (endpoints chains left out)."""


def _blocks(text: str, *heads: str) -> str:
    """The blocks (maps, sets, chains) of `text` whose first line starts with a head."""
    blocks, keep = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("\t") and line.endswith("{\n") and not line.startswith("\t\t"):
            keep = line.strip().startswith(heads)
        if keep:
            blocks.append(line)
        if line == "\t}\n":
            keep = False
    return "".join(blocks)


def policy_rules() -> str:
    return render(build(POLICY_SERVICES, POLICY_ENDPOINTS, "10.0.0.2", "node-1").values(), CONFIG)


def test_traffic_policies_local_keep_to_the_nodes_endpoints_and_the_clients_address() -> None:
    # externalTrafficPolicy Local: the nodePort chain sets no masquerade mark and picks
    # node-1's endpoint only; pods and the node itself still reach every endpoint.
    # internalTrafficPolicy Local with no endpoint on node-1: the ClusterIP drops.
    assert _blocks(policy_rules(), "chain svc-", "chain cluster-", "chain ext-") == POLICY_CHAINS


def test_a_local_policy_only_changes_the_services_that_ask_for_it() -> None:
    # The cluster-wide services above render exactly as before: nodeName alone changes nothing.
    named = render(build(SERVICES, ENDPOINTS, "10.0.0.2", "node-1").values(), CONFIG)
    assert named == EXPECTED


def test_nft_accepts_the_traffic_policy_rules_in_check_mode() -> None:
    done = _nft_in_fresh_netns("-c", "-f", "-", stdin=policy_rules())
    assert done.returncode == 0, done.stderr


EXTERNAL_SERVICES = [
    svc(
        "outside",
        {
            "clusterIP": "172.30.255.40",
            "externalIPs": ["192.0.2.50"],
            "externalTrafficPolicy": "Cluster",
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
    ),
    svc(
        "outside-local",
        {
            "clusterIP": "172.30.255.41",
            "externalIPs": ["192.0.2.51"],
            "externalTrafficPolicy": "Local",
            "ports": [{"port": 53, "protocol": "UDP"}],
        },
    ),
    svc(
        "outside-empty",
        {
            "clusterIP": "172.30.255.42",
            "externalIPs": ["192.0.2.52", "192.0.2.53"],
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
    ),
]
EXTERNAL_ENDPOINTS = {
    "default/outside": ep("outside", [{"addresses": TWO_NODES, "ports": [{"port": 80}]}]),
    "default/outside-local": ep(
        "outside-local",
        [{"addresses": TWO_NODES, "ports": [{"port": 5353, "protocol": "UDP"}]}],
    ),
}


def external_rules() -> str:
    ports = build(EXTERNAL_SERVICES, EXTERNAL_ENDPOINTS, "10.0.0.2", "node-1").values()
    return render(ports, CONFIG)


EXTERNAL_LOOKUPS = """\
\tmap service-ips {
\t\ttype ipv4_addr . inet_proto . inet_service : verdict
\t\telements = { 172.30.255.40 . tcp . 80 : goto svc-default/outside/tcp/80, 192.0.2.50 . tcp . 80 : goto ext-default/outside/tcp/80, 172.30.255.41 . udp . 53 : goto svc-default/outside-local/udp/53, 192.0.2.51 . udp . 53 : goto ext-default/outside-local/udp/53 }
\t}
\tset no-endpoint-services {
\t\ttype ipv4_addr . inet_proto . inet_service
\t\telements = { 172.30.255.42 . tcp . 80, 192.0.2.52 . tcp . 80, 192.0.2.53 . tcp . 80 }
\t}
"""  # noqa: E501 (nft lines as they are)
EXTERNAL_CHAINS = """\
\tchain ext-default/outside/tcp/80 {
\t\tjump mark-for-masquerade
\t\tgoto svc-default/outside/tcp/80
\t}
\tchain ext-default/outside-local/udp/53 {
\t\tip saddr 172.30.0.0/16 goto svc-default/outside-local/udp/53
\t\tfib saddr type local jump mark-for-masquerade
\t\tfib saddr type local goto svc-default/outside-local/udp/53
\t\tnumgen random mod 1 vmap { 0 : goto ep-default/outside-local/udp/53/172.30.1.7/5353 }
\t}
"""


def test_external_ips_lead_to_the_outside_traffic_chain_and_refuse_without_endpoints() -> None:
    # Outside traffic, as a nodePort's: masqueraded with Cluster; with Local, this node's
    # endpoints only and the client's address kept. No endpoint: refused on each address.
    text = external_rules()
    assert _blocks(text, "map service-ips", "set no-endpoint-services") == EXTERNAL_LOOKUPS
    assert _blocks(text, "chain ext-") == EXTERNAL_CHAINS


def test_nft_accepts_the_external_ip_rules_in_check_mode() -> None:
    done = _nft_in_fresh_netns("-c", "-f", "-", stdin=external_rules())
    assert done.returncode == 0, done.stderr

"""What NetworkPolicies mean for a node's pods (proxy/netpol.py) and the nftables text
that enforces it (proxy/netpol_rules.py), checked by nft's parser."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from client.codec import from_dict
from proto import core_pb2, networking_pb2
from proxy.netpol import Allow, Isolation, PortMatch, isolations
from proxy.netpol_rules import render, rule_count

NAMESPACES = {"default": {"kubernetes.io/metadata.name": "default"},
              "ops": {"kubernetes.io/metadata.name": "ops", "team": "ops"}}  # fmt: skip


def pod(
    name: str,
    ip: str,
    labels: dict[str, str],
    *,
    namespace: str = "default",
    node: str = "n1",
    ports: dict[str, int] | None = None,
    host_network: bool = False,
) -> core_pb2.Pod:
    container: dict[str, Any] = {"name": "c"}
    if ports:
        container["ports"] = [{"name": n, "containerPort": p} for n, p in ports.items()]
    spec: dict[str, Any] = {"nodeName": node, "containers": [container]}
    if host_network:
        spec["hostNetwork"] = True
    return from_dict(
        core_pb2.Pod,
        {
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": spec,
            "status": {"phase": "Running", "podIP": ip},
        },
    )


def policy(name: str, spec: dict[str, Any], namespace: str = "default") -> Any:
    return from_dict(
        networking_pb2.NetworkPolicy,
        {"metadata": {"name": name, "namespace": namespace}, "spec": spec},
    )


WEB = pod("web", "172.30.1.5", {"app": "web"}, ports={"http": 8080})
CLIENT = pod("client", "172.30.2.7", {"role": "client"}, node="n2")
OPS = pod("tool", "172.30.3.9", {"role": "client"}, namespace="ops", node="n2")
DB = pod("db", "172.30.1.6", {"app": "db"}, ports={"sql": 5432})
PODS = [WEB, CLIENT, OPS, DB]


def isolated(*policies: Any, pods: list[core_pb2.Pod] = PODS) -> dict[str, Isolation]:
    return {i.key: i for i in isolations(policies, pods, NAMESPACES, "n1")}


def test_a_pod_no_policy_selects_is_not_isolated_and_an_empty_policy_denies_all():
    assert isolated() == {}
    out = isolated(policy("deny", {"podSelector": {}, "policyTypes": ["Ingress"]}))
    assert set(out) == {"default/web", "default/db"}, "only this node's pods"
    assert out["default/web"].ingress == () and out["default/web"].egress is None


def test_peers_by_pod_by_namespace_and_by_both_pick_the_right_pods():
    def sources(peer: dict[str, Any]) -> tuple[str, ...] | None:
        spec = {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [peer]}]}
        (allow,) = isolated(policy("p", spec))["default/web"].ingress or ()
        return allow.addresses

    clients = {"matchLabels": {"role": "client"}}
    assert sources({"podSelector": clients}) == ("172.30.2.7",), "the policy's namespace"
    assert sources({"namespaceSelector": {"matchLabels": {"team": "ops"}}}) == ("172.30.3.9",)
    assert sources({"namespaceSelector": {}, "podSelector": clients}) == (
        "172.30.2.7",
        "172.30.3.9",
    )


def test_a_named_ingress_port_is_the_isolated_pods_own_number():
    spec = {
        "podSelector": {},
        "ingress": [
            {"ports": [{"port": "http"}, {"port": 9000, "endPort": 9100, "protocol": "UDP"}]}
        ],
    }
    out = isolated(policy("p", spec))
    assert out["default/web"].ingress == (
        Allow(None, (PortMatch("tcp", 8080, 8080), PortMatch("udp", 9000, 9100))),
    )
    # db has no port named http: only the UDP range is left for it.
    assert out["default/db"].ingress == (
        Allow(
            None,
            (PortMatch("udp", 9000, 9100),),
        ),
    )


def test_a_named_egress_port_reaches_only_pods_that_declare_it():
    spec = {
        "podSelector": {"matchLabels": {"app": "web"}},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": "sql"}]}, {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}],
    }
    out = isolated(policy("p", spec))["default/web"]
    assert out.ingress is None
    assert out.egress == (
        Allow(("172.30.1.6",), (PortMatch("tcp", 5432, 5432),)),
        Allow(("10.0.0.0/8",), None),
    )


def test_host_network_and_finished_pods_are_neither_isolated_nor_peers():
    host = pod("agent", "10.0.0.1", {"app": "web"}, host_network=True)
    done = pod("old", "172.30.1.9", {"role": "client"})
    done.status.phase = "Succeeded"
    spec: dict[str, Any] = {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}
    out = isolated(policy("p", spec), pods=[WEB, host, done])
    assert set(out) == {"default/web"}
    assert out["default/web"].ingress == (Allow(("172.30.1.5",), None),)


def test_policies_add_up_and_a_policy_of_another_namespace_does_not_count():
    everyone: list[dict[str, Any]] = [{"from": [{"namespaceSelector": {}}]}]
    allow_ops: dict[str, Any] = {"podSelector": {}, "ingress": everyone}
    out = isolated(policy("a", allow_ops, namespace="ops"))
    assert out == {}
    deny = policy("deny", {"podSelector": {}})
    port = policy("port", {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]})
    assert isolated(deny, port)["default/web"].ingress == (
        Allow(None, (PortMatch("tcp", 80, 80),)),
    )


EXAMPLE = [
    Isolation(
        "default/web",
        "172.30.1.5",
        (
            Allow(("172.30.2.7", "172.30.3.9"), (PortMatch("tcp", 80, 80), PortMatch("udp"))),
            Allow(("10.0.0.0/8",), None, ("10.1.0.0/16",)),
            Allow(()),
        ),
        (Allow(None, (PortMatch("tcp", 5432, 5432),)),),
    ),
    Isolation("default/db", "172.30.1.6", (), None),
]


def test_the_rules_return_for_each_way_allowed_and_drop_the_rest():
    script = render(EXAMPLE)
    assert "\t\tip saddr { 172.30.2.7, 172.30.3.9 } tcp dport 80 return\n" in script
    assert "\t\tip saddr { 172.30.2.7, 172.30.3.9 } meta l4proto udp return\n" in script
    assert "\t\tip saddr 10.0.0.0/8 ip saddr != 10.1.0.0/16 return\n" in script
    assert "\t\ttcp dport 5432 return\n" in script
    assert "elements = { 172.30.1.5 : jump ingress-0, 172.30.1.6 : jump ingress-1 }" in script
    assert "elements = { 172.30.1.5 : jump egress-0 }" in script
    assert script.index("ct state established,related accept") < script.index("vmap")
    assert rule_count(script) == 4 + 3  # returns, and a drop per chain


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nft"),
    reason="needs root, unshare and nft",
)
@pytest.mark.parametrize("isolated_pods", [EXAMPLE, []], ids=["example", "nothing isolated"])
def test_nft_accepts_the_rules_in_check_mode(isolated_pods: list[Isolation]):
    done = subprocess.run(
        ["unshare", "-n", "nft", "-c", "-f", "-"],
        input=render(isolated_pods),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr

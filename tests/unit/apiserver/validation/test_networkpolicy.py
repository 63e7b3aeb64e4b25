"""Validation and defaults of NetworkPolicies (validation/networkpolicy.py,
strategies/networkpolicy.py), in Kubernetes' words."""

from __future__ import annotations

from typing import Any

import pytest

from client.codec import to_dict
from tests.unit.apiserver.validation.cases import (
    Case,
    assert_named,
    errors_of,
    invalid_params,
    make_object,
)

PEER = "spec.ingress[0].from[0]"
PORT = "spec.ingress[0].ports[0]"

CASES: list[Case] = [
    ("NetworkPolicy", {PEER: {}}, f"{PEER}: Required value: must specify a peer", "no peer"),
    (
        "NetworkPolicy",
        {PEER: {"podSelector": {}, "ipBlock": {"cidr": "10.0.0.0/8"}}},
        f"{PEER}: Forbidden: may not specify both ipBlock and another peer",
        "ipBlock with a selector",
    ),
    (
        "NetworkPolicy",
        {PEER: {"ipBlock": {"cidr": "10.0.0.0"}}},
        f'{PEER}.ipBlock.cidr: Invalid value: "10.0.0.0": must be a valid CIDR value, '
        "(e.g. 10.9.8.0/24 or 2001:db8::/64)",
        "a cidr without a prefix",
    ),
    (
        "NetworkPolicy",
        {PEER: {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/8"]}}},
        f'{PEER}.ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
        "an exception wider than its block",
    ),
    (
        "NetworkPolicy",
        {PORT: {"protocol": "ICMP", "port": 80}},
        f'{PORT}.protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
        "an unknown protocol",
    ),
    (
        "NetworkPolicy",
        {PORT: {"port": 70000}},
        f"{PORT}.port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        "a port out of range",
    ),
    (
        "NetworkPolicy",
        {PORT: {"port": 9000, "endPort": 8000}},
        f"{PORT}.endPort: Invalid value: 9000: must be greater than or equal to `port`",
        "a range that ends before it starts",
    ),
    (
        "NetworkPolicy",
        {PORT: {"port": "http", "endPort": 8000}},
        f"{PORT}.endPort: Invalid value: 8000: may not be specified when `port` is non-numeric",
        "a range from a named port",
    ),
    (
        "NetworkPolicy",
        {PORT: {"port": "HTTP_PORT"}},
        f'{PORT}.port: Invalid value: "HTTP_PORT"',
        "a port name that is no name",
    ),
    (
        "NetworkPolicy",
        {"spec.policyTypes": ["Ingress", "Sideways"]},
        'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
        "an unknown policy type",
    ),
    (
        "NetworkPolicy",
        {"spec.podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
        "spec.podSelector",
        "a selector without values",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_a_bad_network_policy_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


def test_the_documented_policies_are_valid() -> None:
    assert errors_of("NetworkPolicy") == []
    egress = {
        "spec.egress": [
            {
                "to": [{"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.0.0.128/25"]}}],
                "ports": [{"protocol": "TCP", "port": 32000, "endPort": 32768}],
            }
        ]
    }
    assert errors_of("NetworkPolicy", egress) == []


def test_ports_default_to_tcp_and_policy_types_follow_the_rules_given() -> None:
    _, ingress_only = make_object("NetworkPolicy")
    spec = to_dict(ingress_only)["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 80}]
    _, both = make_object("NetworkPolicy", {"spec.egress": [{}]})
    assert to_dict(both)["spec"]["policyTypes"] == ["Ingress", "Egress"]
    _, bare = make_object("NetworkPolicy", {"spec": {}})
    assert to_dict(bare)["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}

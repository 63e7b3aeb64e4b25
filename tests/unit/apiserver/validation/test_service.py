"""Validation of Services and Endpoints (validation/service.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.apiserver.validation.cases import (
    PORT_RANGE,
    AllowedUpdate,
    Case,
    UpdateCase,
    allowed_params,
    assert_named,
    errors_of,
    invalid_params,
    update_errors,
    update_params,
)

CASES: list[Case] = [
    ("Service", {"spec.ports": []}, "spec.ports: Required value", "a service without ports"),
    (
        "Service",
        {"spec.ports": [{"port": 0}]},
        f"spec.ports[0].port: Invalid value: 0: {PORT_RANGE}",
        "service port 0",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "targetPort": 70000}]},
        f"spec.ports[0].targetPort: Invalid value: 70000: {PORT_RANGE}",
        "a target port out of range",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "targetPort": "web_port"}]},
        'spec.ports[0].targetPort: Invalid value: "web_port"',
        "a target port name with an underscore",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "protocol": "ICMP"}]},
        'spec.ports[0].protocol: Unsupported value: "ICMP"',
        "an unknown service protocol",
    ),
    (
        "Service",
        {"spec.type": "Internal"},
        'spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", '
        '"LoadBalancer", "NodePort"',
        "an unknown service type",
    ),
    (
        "Service",
        {"spec.sessionAffinity": "Sticky"},
        'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
        "an unknown session affinity",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "name": "a"}, {"port": 81}]},
        "spec.ports[1].name: Required value",
        "an unnamed port among several",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]},
        'spec.ports[1].name: Duplicate value: "a"',
        "two service ports with one name",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]},
        'spec.ports[1]: Duplicate value: "80/TCP"',
        "one port number twice",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "nodePort": 30080}]},
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
        "a node port on a ClusterIP service",
    ),
    (
        "Service",
        {"spec.type": "NodePort", "spec.ports": [{"port": 80, "nodePort": 80}]},
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The "
        "range of valid ports is 30000-32767",
        "a node port outside the range",
    ),
    (
        "Service",
        {"spec.ipFamilyPolicy": "RequireDualStack"},
        'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not '
        "configured for dual-stack services",
        "a dual-stack service on an IPv4 cluster",
    ),
    (
        "Service",
        {"spec.ipFamilies": ["IPv4", "IPv6"]},
        'spec.ipFamilies[1]: Invalid value: "IPv6": not configured on this cluster',
        "an IPv6 family",
    ),
    (
        "Service",
        {"spec.ipFamilies": ["IPX"]},
        'spec.ipFamilies[0]: Unsupported value: "IPX": supported values: "IPv4", "IPv6"',
        "an unknown family",
    ),
    (
        "Service",
        {"spec.allocateLoadBalancerNodePorts": False},
        "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is "
        "'LoadBalancer'",
        "node port allocation on a ClusterIP service",
    ),
    (
        "Service",
        {"spec.type": "NodePort", "spec.loadBalancerClass": "example.com/lb"},
        "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'",
        "a load balancer class on a NodePort service",
    ),
    (
        "Service",
        {
            "spec.type": "ExternalName",
            "spec.externalName": "a.example.com",
            "spec.ipFamilies": ["IPv4"],
        },
        "spec.ipFamilies: Forbidden: may not be set for ExternalName services",
        "families on an ExternalName service",
    ),
    (
        "Service",
        {
            "spec.type": "ExternalName",
            "spec.externalName": "a.example.com",
            "spec.clusterIP": "None",
        },
        "spec.clusterIPs: Forbidden: may not be set for ExternalName services",
        "an address on an ExternalName service",
    ),
    (
        "Service",
        {"spec.type": "ExternalName"},
        "spec.externalName: Required value",
        "an ExternalName service without the name",
    ),
    (
        "Service",
        {"spec.type": "ExternalName", "spec.externalName": "smtp_relay.example.com."},
        'spec.externalName: Invalid value: "smtp_relay.example.com": a lowercase RFC 1123 '
        "subdomain",
        "an external name that is no DNS name",
    ),
    (
        "Service",
        {"spec.healthCheckNodePort": 30100},
        "spec.healthCheckNodePort: Invalid value: 30100: may only be set when `type` is "
        "'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        "a health check port on a ClusterIP service",
    ),
    (
        "Service",
        {
            "spec.type": "LoadBalancer",
            "spec.externalTrafficPolicy": "Local",
            "spec.ports": [{"port": 80, "nodePort": 30100}],
            "spec.healthCheckNodePort": 30100,
        },
        "spec.healthCheckNodePort: Duplicate value: 30100",
        "a health check port that is also a node port",
    ),
    (
        "Service",
        {"spec.clusterIP": "10.0.0.300"},
        'spec.clusterIP: Invalid value: "10.0.0.300": must be a valid IP address',
        "an invalid cluster IP",
    ),
    (
        "Service",
        {"spec.selector": {"app": "a b"}},
        'spec.selector[app]: Invalid value: "a b"',
        "an invalid selector value",
    ),
    (
        "Endpoints",
        {"subsets[0].addresses[0].ip": "not-an-ip"},
        'subsets[0].addresses[0].ip: Invalid value: "not-an-ip": must be a valid IP address',
        "an endpoint address that is not an IP",
    ),
    (
        "Endpoints",
        {"subsets[0].ports[0].port": 0},
        f"subsets[0].ports[0].port: Invalid value: 0: {PORT_RANGE}",
        "an endpoint port 0",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_an_invalid_service_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


UPDATES: list[UpdateCase] = [
    (
        "Service",
        {"spec.clusterIP": "10.96.0.10"},
        {"spec.clusterIP": "10.96.0.11"},
        'spec.clusterIP: Invalid value: "10.96.0.11": field is immutable',
        "a changed cluster IP",
    ),
    (
        "Service",
        {
            "spec.type": "LoadBalancer",
            "spec.externalTrafficPolicy": "Local",
            "spec.healthCheckNodePort": 30100,
        },
        {
            "spec.type": "LoadBalancer",
            "spec.externalTrafficPolicy": "Local",
            "spec.healthCheckNodePort": 30101,
        },
        "spec.healthCheckNodePort: Invalid value: 30101: cannot change healthCheckNodePort on "
        "loadBalancer service with externalTraffic=Local during update",
        "a changed health check port",
    ),
    (
        "Service",
        {"spec.type": "LoadBalancer", "spec.loadBalancerClass": "example.com/lb"},
        {"spec.type": "LoadBalancer", "spec.loadBalancerClass": "example.com/other"},
        'spec.loadBalancerClass: Invalid value: "example.com/other": field is immutable',
        "a changed load balancer class",
    ),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes", "expected"), update_params(UPDATES))
def test_a_forbidden_service_update_gets_an_error_naming_the_field(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    assert_named(update_errors(kind, old_changes, new_changes), expected)


ALLOWED_UPDATES: list[AllowedUpdate] = [
    (
        "Service",
        {"spec.clusterIP": "10.96.0.10"},
        {"spec.ports": [{"port": 81}]},
        "a service's ports",
    ),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes"), allowed_params(ALLOWED_UPDATES))
def test_an_allowed_service_update_has_no_errors(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any]
) -> None:
    assert update_errors(kind, old_changes, new_changes) == []

"""Validation of the smaller kinds (validation/cluster.py): Nodes, ConfigMaps, Secrets,
Events, Leases and PriorityClasses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.apiserver.validation.cases import (
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
    (
        "ConfigMap",
        {"data": {"a/b": "x"}},
        'data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric '
        "characters",
        "a config key with a slash",
    ),
    (
        "ConfigMap",
        {"data": {"..a": "x"}},
        "data[..a]: Invalid value: \"..a\": must not start with '..'",
        "a config key starting with dots",
    ),
    (
        "ConfigMap",
        {"binaryData": {"app.conf": "eA=="}},
        'binaryData[app.conf]: Invalid value: "app.conf": duplicate of key present in data',
        "a key in data and binaryData",
    ),
    (
        "ConfigMap",
        {"data": {"big": "x" * (1024 * 1024)}},
        "data: Too long: must have at most 1048576 bytes",
        "a config map over 1 MiB",
    ),
    (
        "Secret",
        {"data": {"bad key": "eA=="}},
        'data[bad key]: Invalid value: "bad key"',
        "a secret key with a space",
    ),
    (
        "Secret",
        {"type": "kubernetes.io/dockerconfigjson"},
        "data[.dockerconfigjson]: Required value",
        "registry credentials without their key",
    ),
    (
        "Secret",
        {"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "bm90IGpzb24="}},
        'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": Expecting value',
        "registry credentials that are not JSON",
    ),
    (
        "Secret",
        {"type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}},
        "data[tls.key]: Required value",
        "a TLS secret without its key",
    ),
    (
        "Secret",
        {"type": "kubernetes.io/basic-auth", "data": {"token": "eA=="}},
        "data[username]: Required value",
        "basic auth without a user or password",
    ),
    (
        "Node",
        {"spec.taints": [{"key": "k", "effect": "Sometimes"}]},
        'spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"',
        "an unknown taint effect",
    ),
    (
        "Node",
        {"spec.taints": [{"effect": "NoSchedule"}]},
        "spec.taints[0].key: Required value",
        "a taint without a key",
    ),
    (
        "Node",
        {
            "spec.taints": [
                {"key": "k", "effect": "NoSchedule"},
                {"key": "k", "value": "v", "effect": "NoSchedule"},
            ]
        },
        'spec.taints[1]: Duplicate value: "k:NoSchedule": taints must be unique by key and effect '
        "pair",
        "two taints with one key and effect",
    ),
    (
        "Node",
        {"spec.podCIDR": "10.0.0.0/33"},
        'spec.podCIDR: Invalid value: "10.0.0.0/33": must be a valid CIDR value',
        "an invalid pod CIDR",
    ),
    (
        "Node",
        {"status.capacity": {"cpu": "two"}},
        'status.capacity[cpu]: Invalid value: "two": quantities must match',
        "a malformed capacity",
    ),
    (
        "Node",
        {"status.addresses": [{"type": "Public", "address": "x"}]},
        'status.addresses[0].type: Unsupported value: "Public"',
        "an unknown address type",
    ),
    (
        "Node",
        {"status.conditions": [{"type": "Ready", "status": "Yes"}]},
        'status.conditions[0].status: Unsupported value: "Yes": supported values: "True", '
        '"False", "Unknown"',
        "a condition status that is not True/False/Unknown",
    ),
    (
        "Event",
        {"involvedObject.namespace": "other"},
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
        "an event about an object elsewhere",
    ),
    (
        "Event",
        {"type": "Fatal"},
        'type: Unsupported value: "Fatal": supported values: "Normal", "Warning"',
        "an unknown event type",
    ),
    (
        "Lease",
        {"spec.leaseDurationSeconds": 0},
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
        "a zero lease duration",
    ),
    (
        "Lease",
        {"spec.leaseTransitions": -1},
        "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
        "negative lease transitions",
    ),
    (
        "PriorityClass",
        {"value": 2_000_000_000},
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
        "a user priority above one billion",
    ),
    (
        "PriorityClass",
        {"metadata.name": "system-mine"},
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved",
        "a reserved system- name",
    ),
    (
        "PriorityClass",
        {"preemptionPolicy": "Always"},
        'preemptionPolicy: Unsupported value: "Always": supported values: "PreemptLowerPriority", '
        '"Never"',
        "an unknown preemption policy",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_an_invalid_object_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


UPDATES: list[UpdateCase] = [
    (
        "ConfigMap",
        {"immutable": True},
        {"data": {"app.conf": "x=2"}},
        "data: Forbidden: field is immutable when `immutable` is set",
        "an immutable config map's data",
    ),
    (
        "PriorityClass",
        None,
        {"value": 5},
        "value: Forbidden: may not be changed in an update.",
        "a changed priority value",
    ),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes", "expected"), update_params(UPDATES))
def test_a_forbidden_object_update_gets_an_error_naming_the_field(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    assert_named(update_errors(kind, old_changes, new_changes), expected)


ALLOWED_UPDATES: list[AllowedUpdate] = [
    ("ConfigMap", None, {"data": {"app.conf": "x=2"}}, "a mutable config map's data"),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes"), allowed_params(ALLOWED_UPDATES))
def test_an_allowed_object_update_has_no_errors(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any]
) -> None:
    assert update_errors(kind, old_changes, new_changes) == []


def test_the_two_system_priority_classes_are_allowed() -> None:
    errors = errors_of(
        "PriorityClass", {"metadata.name": "system-node-critical", "value": 2_000_001_000}
    )
    assert errors == []

"""Validation of PodDisruptionBudgets and EndpointSlices (disruption.py, discovery.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.apiserver.validation.cases import (
    PORT_RANGE,
    Case,
    UpdateCase,
    assert_named,
    errors_of,
    invalid_params,
    update_errors,
    update_params,
)

CASES: list[Case] = [
    (
        "PodDisruptionBudget",
        {"spec.maxUnavailable": 1},
        "spec: Invalid value: minAvailable and maxUnavailable cannot be both set",
        "both bounds",
    ),
    (
        "PodDisruptionBudget",
        {"spec.minAvailable": -1},
        "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0",
        "a negative count",
    ),
    (
        "PodDisruptionBudget",
        {"spec.minAvailable": "150%"},
        'spec.minAvailable: Invalid value: "150%": must not be greater than 100%',
        "over a hundred per cent",
    ),
    (
        "PodDisruptionBudget",
        {"spec.unhealthyPodEvictionPolicy": "Never"},
        'spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: '
        '"AlwaysAllow", "IfHealthyBudget"',
        "an unknown eviction policy",
    ),
    (
        "EndpointSlice",
        {"addressType": "IPX"},
        'addressType: Unsupported value: "IPX"',
        "an unknown address type",
    ),
    (
        "EndpointSlice",
        {"endpoints": [{"addresses": ["fd00::1"]}]},
        'endpoints[0].addresses[0]: Invalid value: "fd00::1": must be an IPv4 address',
        "an IPv6 address in an IPv4 slice",
    ),
    (
        "EndpointSlice",
        {"endpoints": [{"addresses": []}]},
        "endpoints[0].addresses: Required value: must contain at least 1 address",
        "an endpoint without addresses",
    ),
    (
        "EndpointSlice",
        {"ports": [{"name": "http", "port": 0}]},
        f"ports[0].port: Invalid value: 0: {PORT_RANGE}",
        "port 0",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_an_invalid_budget_or_slice_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


UPDATES: list[UpdateCase] = [
    (
        "EndpointSlice",
        None,
        {"addressType": "FQDN", "endpoints": [{"addresses": ["db.example.com"]}]},
        'addressType: Invalid value: "FQDN": field is immutable',
        "a changed address type",
    ),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes", "expected"), update_params(UPDATES))
def test_a_slice_keeps_its_address_type(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    assert_named(update_errors(kind, old_changes, new_changes), expected)

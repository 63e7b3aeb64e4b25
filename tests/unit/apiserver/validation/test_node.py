"""Validation of RuntimeClasses (validation/node.py) and of the pod fields that name one:
runtimeClassName and overhead (validation/pod.py), in Kubernetes' words."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.apiserver.validation.cases import (
    RFC1123_LABEL,
    RFC1123_SUBDOMAIN,
    Case,
    UpdateCase,
    assert_named,
    errors_of,
    invalid_params,
    update_errors,
    update_params,
)

TOLERATION = {"key": "kata", "operator": "Exists", "effect": "NoSchedule"}

CASES: list[Case] = [
    (
        "RuntimeClass",
        {"handler": "Kata_FC"},
        f'handler: Invalid value: "Kata_FC": {RFC1123_LABEL}',
        "a handler that is no DNS label",
    ),
    (
        "RuntimeClass",
        {"handler": ""},
        f'handler: Invalid value: "": {RFC1123_LABEL}',
        "no handler",
    ),
    (
        "RuntimeClass",
        {"overhead.podFixed": {"cpu": "-1"}},
        'overhead.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0',
        "a negative overhead",
    ),
    (
        "RuntimeClass",
        {"overhead.podFixed": {"cpu": "lots"}},
        'overhead.limits[cpu]: Invalid value: "lots": quantities must match',
        "an overhead that is no quantity",
    ),
    (
        "RuntimeClass",
        {"overhead.podFixed": {"gpu": "1"}},
        'overhead.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully '
        "qualified",
        "an overhead of an unknown resource",
    ),
    (
        "RuntimeClass",
        {"scheduling.nodeSelector": {"runtime": "not ok!"}},
        'scheduling.nodeSelector[runtime]: Invalid value: "not ok!"',
        "a node selector value that is no label value",
    ),
    (
        "RuntimeClass",
        {"scheduling.tolerations": [{"key": "kata", "operator": "Sometimes"}]},
        'scheduling.tolerations[0].operator: Unsupported value: "Sometimes"',
        "a toleration with an unknown operator",
    ),
    (
        "RuntimeClass",
        {"scheduling.tolerations": [TOLERATION, TOLERATION]},
        'scheduling.tolerations[1]: Duplicate value: {"effect": "NoSchedule", "key": "kata", '
        '"operator": "Exists"}',
        "the same toleration twice",
    ),
    (
        "Pod",
        {"spec.runtimeClassName": "Kata_FC"},
        f'spec.runtimeClassName: Invalid value: "Kata_FC": {RFC1123_SUBDOMAIN}',
        "a pod naming a class by no DNS subdomain",
    ),
    (
        "Pod",
        {"spec.runtimeClassName": ""},
        f'spec.runtimeClassName: Invalid value: "": {RFC1123_SUBDOMAIN}',
        "a pod naming the empty class",
    ),
    (
        "Pod",
        {"spec.overhead": {"memory": "-1Mi"}},
        'spec.overhead.limits[memory]: Invalid value: "-1Mi": must be greater than or equal to 0',
        "a pod with a negative overhead",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_an_invalid_runtime_class_or_pod_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


def test_a_class_without_overhead_or_scheduling_and_a_pod_naming_it_are_valid() -> None:
    assert errors_of("RuntimeClass", {"handler": "runc", "overhead": {}, "scheduling": {}}) == []
    changes = {"spec.runtimeClassName": "gvisor.v1", "spec.overhead": {"cpu": "250m"}}
    assert errors_of("Pod", changes) == []


UPDATES: list[UpdateCase] = [
    (
        "RuntimeClass",
        None,
        {"handler": "runsc"},
        'handler: Invalid value: "runsc": field is immutable',
        "a class's handler changed",
    ),
    (
        "Pod",
        None,
        {"spec.runtimeClassName": "kata"},
        "spec: Forbidden: pod updates may not change fields other than",
        "a running pod given a class",
    ),
    (
        "Pod",
        {"spec.overhead": {"cpu": "250m"}},
        {"spec.overhead": {"cpu": "1"}},
        "spec: Forbidden: pod updates may not change fields other than",
        "a pod's overhead changed",
    ),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes", "expected"), update_params(UPDATES))
def test_a_forbidden_update_gets_an_error_naming_the_field(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    assert_named(update_errors(kind, old_changes, new_changes), expected)


def test_a_class_may_change_everything_but_its_handler() -> None:
    changes = {"overhead": {"podFixed": {"cpu": "1"}}, "scheduling": {}}
    assert update_errors("RuntimeClass", None, changes) == []

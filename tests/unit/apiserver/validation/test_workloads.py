"""Validation of ReplicaSets, Deployments, DaemonSets, Jobs (validation/workloads.py) and
ControllerRevisions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from client.kinds import by_resource
from master.apiserver.strategies import strategy_for
from proto import workloads_pb2
from tests.unit.apiserver.validation.cases import (
    DELETE,
    PORT_RANGE,
    TC0,
    AllowedUpdate,
    Case,
    UpdateCase,
    allowed_params,
    assert_named,
    container,
    errors_of,
    invalid_params,
    update_errors,
    update_params,
)

CASES: list[Case] = [
    (
        "Deployment",
        {"spec.replicas": -1},
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "negative replicas",
    ),
    (
        "ReplicaSet",
        {"spec.replicas": -2},
        "spec.replicas: Invalid value: -2: must be greater than or equal to 0",
        "negative replicaset replicas",
    ),
    (
        "Deployment",
        {"spec.selector": DELETE},
        "spec.selector: Required value",
        "a deployment without a selector",
    ),
    (
        "Deployment",
        {"spec.selector": {}},
        "spec.selector: Invalid value: {}: empty selector is invalid for deployment",
        "an empty selector",
    ),
    (
        "Deployment",
        {"spec.selector": {"matchLabels": {"app": "db"}}},
        'spec.template.metadata.labels: Invalid value: {"app": "web"}: `selector` does not match '
        "template `labels`",
        "a selector that misses the template",
    ),
    (
        "ReplicaSet",
        {"spec.selector": {"matchExpressions": [{"key": "app", "operator": "Near"}]}},
        'spec.selector.matchExpressions[0].operator: Unsupported value: "Near"',
        "a selector with an unknown operator",
    ),
    (
        "DaemonSet",
        {"spec.template.metadata.labels": {"app": "other"}},
        "`selector` does not match template `labels`",
        "a daemonset template outside its selector",
    ),
    (
        "Deployment",
        {"spec.template.spec.restartPolicy": "Never"},
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
        "a deployment whose pods never restart",
    ),
    (
        "Deployment",
        {
            "spec.template.spec.containers": [
                {"name": "a", "image": "b", "ports": [{"containerPort": 0}]}
            ]
        },
        f"{TC0}.ports[0].containerPort: Invalid value: 0: {PORT_RANGE}",
        "a template container port 0",
    ),
    (
        "Deployment",
        {"spec.strategy": {"type": "Blue"}},
        'spec.strategy.type: Unsupported value: "Blue": supported values: "Recreate", '
        '"RollingUpdate"',
        "an unknown strategy",
    ),
    (
        "Deployment",
        {"spec.strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}},
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
        "'Recreate'",
        "rolling parameters for recreate",
    ),
    (
        "Deployment",
        {"spec.strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}},
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
        "`maxSurge` is 0",
        "a rollout that can never progress",
    ),
    (
        "Deployment",
        {"spec.strategy": {"rollingUpdate": {"maxSurge": "ten"}}},
        'spec.strategy.rollingUpdate.maxSurge: Invalid value: "ten": a valid percent string',
        "a surge that is not a percentage",
    ),
    (
        "Deployment",
        {"spec.strategy": {"rollingUpdate": {"maxUnavailable": "150%"}}},
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater '
        "than 100%",
        "more than all pods unavailable",
    ),
    (
        "Deployment",
        {"spec.minReadySeconds": 700},
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
        "a deadline shorter than minReadySeconds",
    ),
    (
        "DaemonSet",
        {"spec.updateStrategy": {"type": "Sometimes"}},
        'spec.updateStrategy.type: Unsupported value: "Sometimes": supported values: "OnDelete", '
        '"RollingUpdate"',
        "an unknown daemonset strategy",
    ),
    (
        "Job",
        {"spec.template.spec.restartPolicy": "Always"},
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
        '"OnFailure", "Never"',
        "a job whose pods always restart",
    ),
    (
        "Job",
        {"spec.template.spec.restartPolicy": DELETE},
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
        "a job without a restart policy",
    ),
    (
        "Job",
        {"spec.backoffLimit": -1},
        "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
        "a negative backoff limit",
    ),
    (
        "Job",
        {"spec.parallelism": -1},
        "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
        "negative parallelism",
    ),
    (
        "Job",
        {"spec.completionMode": "Sorted"},
        'spec.completionMode: Unsupported value: "Sorted"',
        "an unknown completion mode",
    ),
    (
        "Job",
        {"spec.selector": {"matchLabels": {"app": "pi"}}},
        "`selector` does not match template `labels`",
        "a job selector without manualSelector must match",
    ),
    (
        "Job",
        {"spec.manualSelector": True, "spec.selector": {"matchLabels": {"app": "other"}}},
        "spec.template.metadata.labels: Invalid value",
        "a manual selector missing the template",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_an_invalid_workload_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


UPDATES: list[UpdateCase] = [
    (
        "Deployment",
        None,
        {
            "spec.selector": {"matchLabels": {"app": "web", "v": "2"}},
            "spec.template.metadata.labels": {"app": "web", "v": "2"},
        },
        "spec.selector: Invalid value: "
        '"{\\"matchLabels\\": {\\"app\\": \\"web\\", \\"v\\": \\"2\\"}}": field is immutable',
        "a changed deployment selector",
    ),
    (
        "ReplicaSet",
        None,
        {
            "spec.selector": {"matchLabels": {"app": "web", "v": "2"}},
            "spec.template.metadata.labels": {"app": "web", "v": "2"},
        },
        "spec.selector: Invalid value",
        "a changed replicaset selector",
    ),
    (
        "DaemonSet",
        None,
        {"spec.selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}},
        "spec.selector: Invalid value",
        "a changed daemonset selector",
    ),
    (
        "Job",
        None,
        {"spec.template.spec.containers": [{"name": "app", "image": "busybox:1.36"}]},
        'spec.template: Invalid value: "...": field is immutable',
        "a changed job template",
    ),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes", "expected"), update_params(UPDATES))
def test_a_forbidden_workload_update_gets_an_error_naming_the_field(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    assert_named(update_errors(kind, old_changes, new_changes), expected)


ALLOWED_UPDATES: list[AllowedUpdate] = [
    ("Deployment", None, {"spec.replicas": 5}, "a deployment scaled"),
    (
        "Deployment",
        None,
        {"spec.template.spec.containers": container(image="busybox:1.36")},
        "a deployment's new image",
    ),
    ("Job", None, {"spec.parallelism": 4, "spec.completions": 1}, "a job's parallelism"),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes"), allowed_params(ALLOWED_UPDATES))
def test_an_allowed_workload_update_has_no_errors(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any]
) -> None:
    assert update_errors(kind, old_changes, new_changes) == []


@pytest.mark.parametrize("text", ["xxx", "{", '{"a": }'])
def test_a_controller_revision_whose_data_is_not_json_is_invalid(text: str) -> None:
    # Found by the fuzz suite: stored over gRPC, such a revision answered every REST read
    # with 500, since its data is shown as embedded JSON.
    revision = workloads_pb2.ControllerRevision(
        api_version="apps/v1", kind="ControllerRevision", revision=1
    )
    revision.metadata.name, revision.metadata.namespace = "web-1", "default"
    revision.data.json = text
    problems = strategy_for(by_resource("controllerrevisions")).problems(revision)
    assert [str(p) for p in problems] == [f"data: Invalid value: {json.dumps(text)}: must be JSON"]
    revision.data.json = '{"spec": {"template": {}}}'
    assert strategy_for(by_resource("controllerrevisions")).problems(revision) == []

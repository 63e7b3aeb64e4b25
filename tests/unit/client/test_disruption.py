"""The budget arithmetic the controller and the eviction subresource share."""

from __future__ import annotations

from typing import Any

import pytest

from client.codec import from_dict
from client.disruption import covers, desired_healthy, is_healthy
from proto import core_pb2, policy_pb2


def spec(**fields: Any) -> policy_pb2.PodDisruptionBudgetSpec:
    return from_dict(policy_pb2.PodDisruptionBudgetSpec, fields)


@pytest.mark.parametrize(
    ("fields", "expected", "wanted"),
    [
        ({"minAvailable": 2}, 5, 2),
        ({"minAvailable": "50%"}, 5, 3),  # rounded up
        ({"maxUnavailable": 1}, 5, 4),
        ({"maxUnavailable": "30%"}, 5, 3),  # 1.5 unavailable rounds up to 2
        ({"maxUnavailable": 9}, 5, 0),
        ({}, 5, 0),
    ],
)
def test_the_healthy_pods_a_budget_wants(
    fields: dict[str, Any], expected: int, wanted: int
) -> None:
    assert desired_healthy(spec(**fields), expected) == wanted


def pod(labels: dict[str, str], namespace: str = "shop", **status: Any) -> core_pb2.Pod:
    meta = {"name": "p", "namespace": namespace, "labels": labels}
    return from_dict(core_pb2.Pod, {"metadata": meta, "status": status})


def test_a_budget_covers_its_namespaces_selected_pods_and_none_without_a_selector() -> None:
    meta = {"name": "b", "namespace": "shop"}
    selected = from_dict(policy_pb2.PodDisruptionBudget, {
        "metadata": meta, "spec": {"selector": {"matchLabels": {"app": "db"}}}})  # fmt: skip
    everything = from_dict(
        policy_pb2.PodDisruptionBudget, {"metadata": meta, "spec": {"selector": {}}}
    )
    nothing = from_dict(policy_pb2.PodDisruptionBudget, {"metadata": meta, "spec": {}})
    assert covers(selected, pod({"app": "db"})) and not covers(selected, pod({"app": "web"}))
    assert not covers(selected, pod({"app": "db"}, namespace="other"))
    assert covers(everything, pod({"app": "web"}))
    assert not covers(nothing, pod({"app": "db"}))


def test_only_a_ready_pod_not_being_deleted_is_healthy() -> None:
    ready: Any = {"conditions": [{"type": "Ready", "status": "True"}]}
    assert is_healthy(pod({}, **ready))
    assert not is_healthy(pod({}, conditions=[{"type": "Ready", "status": "False"}]))
    leaving = pod({}, **ready)
    leaving.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    assert not is_healthy(leaving)

"""Pod readiness, availability, scale-down ranking and conditions."""

from __future__ import annotations

import random

from master.controllers import controller_utils as cu
from proto import core_pb2, meta_pb2


def pod(
    name: str,
    *,
    node: str = "n1",
    phase: str = "Running",
    ready_at: str | None = None,
    restarts: int = 0,
    created: str = "2024-01-01T00:00:00Z",
) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name = name
    p.metadata.creation_timestamp = created
    p.spec.node_name = node
    p.status.phase = phase
    if ready_at is not None:
        p.status.conditions.append(
            meta_pb2.Condition(type="Ready", status="True", last_transition_time=ready_at)
        )
    p.status.container_statuses.add(name="main", restart_count=restarts)
    return p


def test_pods_are_deleted_least_advanced_first() -> None:
    expected = [
        pod("unscheduled", node="", phase="Pending"),
        pod("pending", phase="Pending"),
        pod("unknown", phase="Unknown"),
        pod("running-not-ready"),
        pod("ready-recently", ready_at="2024-01-01T00:10:00Z"),
        pod("ready-long-restarted", ready_at="2024-01-01T00:05:00Z", restarts=3),
        pod("ready-long-newer", ready_at="2024-01-01T00:05:00Z", created="2024-01-01T00:02:00Z"),
        pod("ready-long-older", ready_at="2024-01-01T00:05:00Z", created="2024-01-01T00:01:00Z"),
    ]
    shuffled = expected[:]
    random.Random(7).shuffle(shuffled)
    ranked = sorted(shuffled, key=cu.deletion_rank)
    assert [p.metadata.name for p in ranked] == [p.metadata.name for p in expected]


def test_a_pod_is_available_only_after_min_ready_seconds() -> None:
    p = pod("a", ready_at="2024-01-01T00:00:00Z")
    at = cu.parse_time("2024-01-01T00:00:05Z")
    assert at is not None
    assert cu.is_pod_available(p, 0, at)
    assert cu.is_pod_available(p, 5, at)
    assert not cu.is_pod_available(p, 6, at)
    assert cu.available_in(p, 6, at) == 1.0
    assert not cu.is_pod_available(pod("b"), 0, at)


def test_active_pods_exclude_finished_and_deleting_ones() -> None:
    assert cu.is_pod_active(pod("a"))
    assert not cu.is_pod_active(pod("b", phase="Succeeded"))
    deleting = pod("c")
    deleting.metadata.deletion_timestamp = "2024-01-01T00:00:00Z"
    assert not cu.is_pod_active(deleting)


def test_setting_a_condition_keeps_times_unless_the_status_changes() -> None:
    status = core_pb2.NodeStatus()
    first = meta_pb2.Condition(type="Ready", status="True", reason="A", last_transition_time="t1")
    assert cu.set_condition(status, first)
    same = meta_pb2.Condition(type="Ready", status="True", reason="A", last_transition_time="t2")
    assert not cu.set_condition(status, same)
    assert status.conditions[0].last_transition_time == "t1"
    reason = meta_pb2.Condition(type="Ready", status="True", reason="B", last_transition_time="t3")
    assert cu.set_condition(status, reason)
    assert status.conditions[0].last_transition_time == "t1"
    flipped = meta_pb2.Condition(
        type="Ready", status="False", reason="B", last_transition_time="t4"
    )
    assert cu.set_condition(status, flipped)
    assert [(c.status, c.last_transition_time) for c in status.conditions] == [("False", "t4")]
    assert cu.remove_condition(status, "Ready") and not status.conditions


def test_owner_references() -> None:
    owner = core_pb2.Pod(api_version="v1", kind="Pod")
    owner.metadata.name, owner.metadata.uid = "o", "u1"
    p = pod("a")
    p.metadata.owner_references.append(cu.owner_reference(owner))
    p.metadata.owner_references.append(meta_pb2.OwnerReference(kind="X", name="x", uid="u2"))
    assert cu.controller_uid(p) == "u1"
    assert cu.owner_uids(p) == ["u1", "u2"]
    assert cu.remove_owner(p, "u1")
    assert cu.owner_uids(p) == ["u2"] and cu.controller_ref(p) is None
    assert not cu.remove_owner(p, "u1")

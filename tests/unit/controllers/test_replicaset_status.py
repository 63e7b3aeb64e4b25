"""A ReplicaSet's status counts its pods as Kubernetes' does: every pod, those carrying
the template's labels, the ready ones, and the ready ones that have been ready for
minReadySeconds (all of the ready ones when it is 0)."""

from __future__ import annotations

from datetime import UTC, datetime

from client.timestamps import format_time
from master.controllers.replicaset import replica_set_status
from proto import core_pb2, workloads_pb2

AT = 1_800_000_000.0


def replica_set(min_ready: int = 0) -> workloads_pb2.ReplicaSet:
    rs = workloads_pb2.ReplicaSet()
    rs.spec.template.metadata.labels.update({"app": "web", "tier": "front"})
    rs.spec.min_ready_seconds = min_ready
    rs.metadata.generation = 3
    return rs


def pod(ready_for: float | None, labels: dict[str, str] | None = None) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.labels.update({"app": "web", "tier": "front"} if labels is None else labels)
    p.status.phase = "Running"
    if ready_for is not None:
        c = p.status.conditions.add()
        c.type, c.status = "Ready", "True"
        c.last_transition_time = format_time(datetime.fromtimestamp(AT - ready_for, UTC))
    return p


def test_with_no_min_ready_seconds_every_ready_pod_is_available() -> None:
    pods = [pod(0), pod(0), pod(None), pod(5, {"app": "web"})]
    s = replica_set_status(replica_set(), pods, AT)
    assert (s.replicas, s.fully_labeled_replicas, s.ready_replicas, s.available_replicas) == (
        4,
        3,
        3,
        3,
    )
    assert s.observed_generation == 3


def test_a_ready_pod_is_available_only_once_ready_for_min_ready_seconds() -> None:
    pods = [pod(2), pod(10), pod(30), pod(None)]
    s = replica_set_status(replica_set(min_ready=10), pods, AT)
    assert (s.ready_replicas, s.available_replicas) == (3, 2)

"""Counting a Job's pods once: the status' counts, its uncounted uids and the tracked pods
that finished add up without counting a pod twice, and settling moves released or vanished
uids into the counts."""

from __future__ import annotations

from master.controllers import job as jobc
from master.controllers import job_tracking as tracking
from proto import core_pb2, workloads_pb2


def pod(uid: str, phase: str, *, tracked: bool = True, deleting: bool = False) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name, p.metadata.namespace, p.metadata.uid = uid, "default", uid
    p.status.phase = phase
    if tracked:
        p.metadata.finalizers.append(tracking.FINALIZER)
    if deleting:
        p.metadata.deletion_timestamp = "2026-12-07T00:00:00Z"
    return p


def job(succeeded: int = 0, failed: int = 0) -> workloads_pb2.Job:
    j = workloads_pb2.Job()
    j.spec.completions, j.spec.parallelism, j.spec.backoff_limit = 5, 1, 6
    j.status.succeeded, j.status.failed = succeeded, failed
    return j


def test_a_pod_is_counted_once_whether_counted_uncounted_or_newly_finished() -> None:
    j = job(succeeded=1, failed=1)
    j.status.uncounted_terminated_pods.succeeded.append("s2")
    pods = [
        pod("s1", "Succeeded", tracked=False),  # counted in status.succeeded already
        pod("s2", "Succeeded"),  # uncounted: listed, finalizer still on
        pod("s3", "Succeeded"),  # finished since
        pod("f1", "Failed", tracked=False),  # counted in status.failed already
        pod("gone", "Running", deleting=True),  # deleted before it finished: a failure
        pod("ours", "Running", tracked=False, deleting=True),  # the controller's deletion
        pod("busy", "Running"),
    ]
    t = jobc.tally(j, pods)
    assert (t.succeeded, t.failed) == (3, 2)
    assert [p.metadata.uid for p in t.active] == ["busy"]


def test_settling_moves_released_and_vanished_uids_into_the_counts() -> None:
    status = workloads_pb2.JobStatus(succeeded=1, failed=0)
    status.uncounted_terminated_pods.succeeded.extend(["a", "b", "c"])
    status.uncounted_terminated_pods.failed.extend(["d"])
    # a: released now; b: still holds its finalizer; c and d: gone from the store.
    assert tracking.settle(status, released={"a"}, present={"b"})
    assert (status.succeeded, status.failed) == (3, 1)
    assert list(status.uncounted_terminated_pods.succeeded) == ["b"]
    assert not status.uncounted_terminated_pods.failed
    assert not tracking.settle(status, released=set(), present={"b"})


def test_a_pod_deleted_before_it_finished_failed_and_a_finished_one_kept_its_phase() -> None:
    assert tracking.outcome(pod("x", "Running", deleting=True)) == "Failed"
    assert tracking.outcome(pod("x", "Succeeded", deleting=True)) == "Succeeded"
    assert tracking.outcome(pod("x", "Running")) == ""

"""A pod's READY, STATUS and RESTARTS columns are computed as kubectl computes them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from client.codec import from_dict
from client.printing.podstatus import PodSummary, summarize
from proto import core_pb2

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def pod(status: dict[str, Any], *, containers: int = 1, init: int = 0, deleting: bool = False):
    spec = {
        "containers": [{"name": f"c{i}", "image": "busybox:1.35"} for i in range(containers)],
    }
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "image": "busybox:1.35"} for i in range(init)]
    meta = {"name": "p", "namespace": "default"}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-23T11:59:00Z"
    return from_dict(core_pb2.Pod, {"metadata": meta, "spec": spec, "status": status})


def running(ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return {
        "name": "c0",
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {"startedAt": "2026-11-23T11:00:00Z"}},
    }


def waiting(reason: str, restarts: int = 0, **extra) -> dict[str, Any]:
    state = {"waiting": {"reason": reason}}
    return {"name": "c0", "restartCount": restarts, "state": state, **extra}


CASES = [
    ("no status yet", pod({}), ("0/1", "Pending", "0")),
    ("pending", pod({"phase": "Pending"}), ("0/1", "Pending", "0")),
    ("running and ready", pod({"phase": "Running", "containerStatuses": [running()]}),
     ("1/1", "Running", "0")),
    ("running, not ready", pod({"phase": "Running", "containerStatuses": [running(False)]}),
     ("0/1", "Running", "0")),
    ("creating", pod({"phase": "Pending", "containerStatuses": [waiting("ContainerCreating")]}),
     ("0/1", "ContainerCreating", "0")),
    ("image pull back-off",
     pod({"phase": "Pending", "containerStatuses": [waiting("ImagePullBackOff")]}),
     ("0/1", "ImagePullBackOff", "0")),
    ("crash loop with last restart",
     pod({"phase": "Running", "containerStatuses": [waiting(
         "CrashLoopBackOff", 4,
         lastState={"terminated": {"exitCode": 1, "finishedAt": "2026-11-23T11:58:00Z"}},
     )]}),
     ("0/1", "CrashLoopBackOff", "4 (2m ago)")),
    ("completed", pod({"phase": "Succeeded", "containerStatuses": [
        {"name": "c0", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
     ("0/1", "Completed", "0")),
    ("error", pod({"phase": "Failed", "containerStatuses": [
        {"name": "c0", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}),
     ("0/1", "Error", "0")),
    ("exit code without a reason", pod({"phase": "Failed", "containerStatuses": [
        {"name": "c0", "state": {"terminated": {"exitCode": 3}}}]}),
     ("0/1", "ExitCode:3", "0")),
    ("signal without a reason", pod({"phase": "Failed", "containerStatuses": [
        {"name": "c0", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
     ("0/1", "Signal:9", "0")),
    ("terminating", pod({"phase": "Running", "containerStatuses": [running()]}, deleting=True),
     ("1/1", "Terminating", "0")),
    ("evicted (pod reason wins)", pod({"phase": "Failed", "reason": "Evicted"}),
     ("0/1", "Evicted", "0")),
    ("init container running", pod({"phase": "Pending", "initContainerStatuses": [
        {"name": "i0", "state": {"running": {}}}]}, init=2),
     ("0/1", "Init:0/2", "0")),
    ("init container failed", pod({"phase": "Pending", "initContainerStatuses": [
        {"name": "i0", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}, init=1),
     ("0/1", "Init:Error", "0")),
    ("init container crash loop", pod({"phase": "Pending", "initContainerStatuses": [
        {"name": "i0", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
        init=1),
     ("0/1", "Init:CrashLoopBackOff", "2")),
    ("two containers, one ready", pod({"phase": "Running", "containerStatuses": [
        running(), {**running(), "name": "c1", "ready": False}]}, containers=2),
     ("1/2", "Running", "0")),
    ("completed container next to a running one", pod({"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}], "containerStatuses": [
        running(), {"name": "c1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
    ]}, containers=2),
     ("1/2", "Running", "0")),
]


@pytest.mark.parametrize(("case", "p", "expected"), CASES, ids=[c[0] for c in CASES])
def test_pod_columns_match_kubectl(case, p, expected):
    s = summarize(p, NOW)
    assert (s.ready, s.status, s.restarts) == expected


def test_a_pod_held_by_a_scheduling_gate_shows_scheduling_gated() -> None:
    gated = core_pb2.Pod()
    gated.spec.containers.add(name="main")
    gated.status.phase = "Pending"
    gated.status.conditions.add(type="PodScheduled", status="False", reason="SchedulingGated")
    assert summarize(gated).status == "SchedulingGated"


def test_a_running_sidecar_counts_among_the_ready_containers_and_its_restarts_stay() -> None:
    sided = pod(
        {
            "phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [
                {**running(restarts=2), "name": "i0", "started": True},
            ],
            "containerStatuses": [running()],
        },
        init=1,
    )
    sided.spec.init_containers[0].restart_policy = "Always"
    assert summarize(sided) == PodSummary("2/2", "Running", "2")

"""A pod's READY, STATUS and RESTARTS columns, computed exactly as kubectl computes them.

A port of `printPod` in Kubernetes' `pkg/printers/internalversion/printers.go`: the
STATUS shown is the most telling reason among init containers, then containers, then
deletion, which is why a pod can be "Running" in phase and "CrashLoopBackOff" on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from client.printing.age import age, parse_time
from client.sidecars import is_sidecar
from proto import core_pb2

NODE_UNREACHABLE_REASON = "NodeLost"
SCHEDULING_GATED = "SchedulingGated"


@dataclass(frozen=True)
class PodSummary:
    """The three computed columns of a pod."""

    ready: str
    status: str
    restarts: str


def _terminated_reason(t: core_pb2.ContainerStateTerminated, prefix: str = "") -> str:
    if t.reason:
        return prefix + t.reason
    if t.signal:
        return f"{prefix}Signal:{t.signal}"
    return f"{prefix}ExitCode:{t.exit_code}"


def _condition_true(pod: core_pb2.Pod, kind: str) -> bool:
    return any(c.type == kind and c.status == "True" for c in pod.status.conditions)


def summarize(pod: core_pb2.Pod, at: datetime | None = None) -> PodSummary:
    """READY (`1/2`), STATUS (`Running`, `CrashLoopBackOff`, ...) and RESTARTS (`3 (2m ago)`)."""
    restarts = 0
    side_names = {c.name for c in pod.spec.init_containers if is_sidecar(c)}
    # Sidecars count among the containers, and their restarts stay in the total.
    total = len(pod.spec.containers) + len(side_names)
    ready = 0
    side_restarts = 0
    last_restart: datetime | None = None
    last_side_restart: datetime | None = None
    reason = pod.status.phase
    if pod.status.reason:
        reason = pod.status.reason
    if any(
        c.type == "PodScheduled" and c.reason == SCHEDULING_GATED for c in pod.status.conditions
    ):
        reason = SCHEDULING_GATED

    def note_restart(status: core_pb2.ContainerStatus) -> None:
        nonlocal last_restart, last_side_restart
        if status.last_state.HasField("terminated"):
            finished = parse_time(status.last_state.terminated.finished_at)
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            sidecar_later = finished and (last_side_restart is None or finished > last_side_restart)
            if status.name in side_names and sidecar_later:
                last_side_restart = finished

    initializing = False
    n_init = len(pod.spec.init_containers)
    for i, status in enumerate(pod.status.init_container_statuses):
        restarts += status.restart_count
        note_restart(status)
        if status.name in side_names:
            side_restarts += status.restart_count
        state = status.state
        if state.HasField("terminated") and state.terminated.exit_code == 0:
            continue
        if status.name in side_names and status.started:
            ready += 1 if status.ready else 0
            continue
        if state.HasField("terminated"):
            reason = _terminated_reason(state.terminated, "Init:")
        elif (
            state.HasField("waiting")
            and state.waiting.reason
            and state.waiting.reason != "PodInitializing"
        ):
            reason = "Init:" + state.waiting.reason
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break

    if not initializing or _condition_true(pod, "Initialized"):
        restarts, last_restart = side_restarts, last_side_restart
        has_running = False
        for status in reversed(pod.status.container_statuses):
            restarts += status.restart_count
            note_restart(status)
            state = status.state
            if state.HasField("waiting") and state.waiting.reason:
                reason = state.waiting.reason
            elif state.HasField("terminated"):
                reason = _terminated_reason(state.terminated)
            elif status.ready and state.HasField("running"):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(pod, "Ready") else "NotReady"

    if pod.metadata.deletion_timestamp and pod.status.reason == NODE_UNREACHABLE_REASON:
        reason = "Unknown"
    elif pod.metadata.deletion_timestamp:
        reason = "Terminating"

    restarts_text = str(restarts)
    if last_restart is not None:
        restarts_text = f"{restarts} ({age(last_restart.isoformat(), at)} ago)"
    return PodSummary(f"{ready}/{total}", reason or "Pending", restarts_text)

"""An ephemeral container's status: containerStatuses' form in ephemeralContainerStatuses,
never ready, never restarted, and of no weight in the pod's phase or Ready conditions."""

from __future__ import annotations

import pytest

from kubelet.pods.status import PodFacts, pod_status
from kubelet.runtime.interface import ContainerInfo, PodRef
from proto import core_pb2

REF = PodRef("u1", "p", "default")


def info(name: str, state: str, exit_code: int = 0) -> ContainerInfo:
    return ContainerInfo(
        id=f"{name}-id",
        pod=REF,
        name=name,
        kind="app" if name == "app" else "ephemeral",
        attempt=0,
        image="busybox:1.35",
        image_id="sha256:x",
        state=state,
        exit_code=exit_code,
        started_at="2026-01-01T00:00:00Z" if state != "created" else "",
        finished_at="2026-01-01T00:00:09Z" if state == "exited" else "",
        reason=("Completed" if exit_code == 0 else "Error") if state == "exited" else "",
    )


def a_pod(policy: str = "Always") -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.uid = "u1"
    p.spec.restart_policy = policy
    p.spec.containers.add(name="app", image="busybox:1.35")
    p.spec.ephemeral_containers.add(
        name="debugger", image="busybox:1.35", target_container_name="app"
    )
    return p


def status(
    pod: core_pb2.Pod,
    instances: dict[str, list[ContainerInfo]],
    waiting: dict[str, tuple[str, str]] | None = None,
) -> core_pb2.PodStatus:
    return pod_status(
        PodFacts(
            pod=pod, host_ip="127.0.0.1", sandbox=None, instances=instances, waiting=waiting or {}
        )
    )


def debugger(st: core_pb2.PodStatus) -> core_pb2.ContainerStatus:
    [found] = st.ephemeral_container_statuses
    assert found.name == "debugger"
    return found


def test_an_ephemeral_container_not_started_yet_waits_in_container_creating():
    st = debugger(status(a_pod(), {"app": [info("app", "running")]}))
    assert st.state.waiting.reason == "ContainerCreating"
    assert st.image == "busybox:1.35" and not st.container_id and not st.ready


def test_an_ephemeral_container_that_cannot_start_says_why_while_it_waits():
    msg = "unable to find target container app"
    waiting = {"debugger": ("CreateContainerConfigError", msg)}
    st = debugger(status(a_pod(), {"app": [info("app", "exited", 1)]}, waiting))
    assert (st.state.waiting.reason, st.state.waiting.message) == (
        "CreateContainerConfigError",
        msg,
    )


def test_a_running_ephemeral_container_reports_its_start_ids_and_no_restarts_and_is_never_ready():
    instances = {"app": [info("app", "running")], "debugger": [info("debugger", "running")]}
    st = debugger(status(a_pod(), instances))
    assert st.state.running.started_at == "2026-01-01T00:00:00Z"
    assert st.restart_count == 0 and st.started and not st.ready
    assert (st.image, st.image_id, st.container_id) == (
        "busybox:1.35",
        "sha256:x",
        "docker://debugger-id",
    )


def test_an_ephemeral_container_that_exited_is_terminated_with_its_exit_code_and_reason():
    instances = {"app": [info("app", "running")], "debugger": [info("debugger", "exited", 3)]}
    st = debugger(status(a_pod(), instances))
    term = st.state.terminated
    assert (term.exit_code, term.reason, term.finished_at) == (3, "Error", "2026-01-01T00:00:09Z")
    assert term.container_id == "docker://debugger-id" and st.restart_count == 0


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
@pytest.mark.parametrize(
    "debugger_state",
    [None, ("running", 0), ("exited", 0), ("exited", 1)],
    ids=["waiting", "running", "succeeded", "failed"],
)
def test_an_ephemeral_container_counts_for_nothing_in_the_phase_or_readiness(
    policy, debugger_state
):
    instances = {"app": [info("app", "running")]}
    if debugger_state is not None:
        instances["debugger"] = [info("debugger", *debugger_state)]
    st = status(a_pod(policy), instances)
    assert st.phase == "Running"
    conditions = {c.type: c.status for c in st.conditions}
    assert conditions["Ready"] == conditions["ContainersReady"] == "True"
    assert [c.name for c in st.container_statuses] == ["app"]


def test_an_ephemeral_container_gone_after_it_ended_keeps_its_terminated_status():
    pod = a_pod()
    ran = {"app": [info("app", "running")], "debugger": [info("debugger", "exited", 3)]}
    pod.status.CopyFrom(status(pod, ran))

    st = debugger(status(pod, {"app": [info("app", "running")]}))

    assert st.state.terminated.exit_code == 3
    assert st.container_id == "docker://debugger-id"


def test_an_ephemeral_container_gone_while_running_is_reported_lost_not_waiting():
    pod = a_pod()
    ran = {"app": [info("app", "running")], "debugger": [info("debugger", "running")]}
    pod.status.CopyFrom(status(pod, ran))

    st = debugger(status(pod, {"app": [info("app", "running")]}))

    term = st.state.terminated
    assert (term.exit_code, term.reason) == (137, "ContainerStatusUnknown")
    assert term.started_at == "2026-01-01T00:00:00Z"
    assert st.container_id == "docker://debugger-id"

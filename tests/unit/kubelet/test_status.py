"""Pod phase and conditions from container states, as Kubernetes computes them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kubelet.pods.status import PodFacts, pod_status
from kubelet.runtime.interface import ContainerInfo, PodRef
from proto import core_pb2

REF = PodRef("u1", "p", "default")


def info(name: str, state: str, attempt: int = 0, exit_code: int = 0) -> ContainerInfo:
    return ContainerInfo(
        id=f"{name}-{attempt}",
        pod=REF,
        name=name,
        kind="app",
        attempt=attempt,
        image="busybox:1.35",
        image_id="sha256:x",
        state=state,
        exit_code=exit_code,
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z" if state == "exited" else "",
        reason=("Completed" if exit_code == 0 else "Error") if state == "exited" else "",
    )


def a_pod(policy: str, *names: str) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.uid = "u1"
    p.spec.restart_policy = policy
    for n in names:
        p.spec.containers.add(name=n, image="busybox:1.35")
    return p


def status(pod, instances, waiting=None, ready=lambda cid: True) -> core_pb2.PodStatus:
    return pod_status(
        PodFacts(
            pod=pod,
            host_ip="127.0.0.1",
            sandbox=None,
            instances=instances,
            waiting=waiting or {},
            ready=ready,
        )
    )


@pytest.mark.parametrize(
    ("policy", "states", "phase"),
    [
        ("Always", [("running", 0)], "Running"),
        ("Never", [("exited", 0)], "Succeeded"),
        ("Never", [("exited", 1)], "Failed"),
        ("OnFailure", [("exited", 0)], "Succeeded"),
        ("Never", [("exited", 0), ("running", 0)], "Running"),
        ("Never", [("exited", 0), ("exited", 2)], "Failed"),
        ("Always", [("exited", 0)], "Running"),
    ],
    ids=[
        "running",
        "never-ok",
        "never-failed",
        "onfailure-ok",
        "one-still-running",
        "one-failed",
        "always-restarts",
    ],
)
def test_the_phase_follows_container_states_and_restart_policy(policy, states, phase):
    names = [f"c{i}" for i in range(len(states))]
    pod = a_pod(policy, *names)
    instances = {
        n: [info(n, st, exit_code=code)] for n, (st, code) in zip(names, states, strict=True)
    }
    assert status(pod, instances).phase == phase


def test_a_container_in_back_off_is_waiting_with_its_last_termination():
    pod = a_pod("Always", "main")
    st = status(
        pod,
        {"main": [info("main", "exited", attempt=3, exit_code=1)]},
        waiting={"main": ("CrashLoopBackOff", "back-off 40s")},
    )
    cs = st.container_statuses[0]
    assert cs.state.waiting.reason == "CrashLoopBackOff"
    assert cs.last_state.terminated.exit_code == 1
    assert cs.restart_count == 3
    assert st.phase == "Running"


def test_an_unready_container_makes_the_pod_unready_and_says_which():
    pod = a_pod("Always", "a", "b")
    st = status(
        pod,
        {"a": [info("a", "running")], "b": [info("b", "running")]},
        ready=lambda cid: cid.startswith("a"),
    )
    conds = {c.type: c for c in st.conditions}
    assert conds["Ready"].status == conds["ContainersReady"].status == "False"
    assert conds["Ready"].message == "containers with unready status: [b]"
    assert conds["Initialized"].status == "True"


def test_an_unchanged_pod_produces_an_identical_status():
    pod = a_pod("Always", "main")
    instances = {"main": [info("main", "running")]}
    first = status(pod, instances)
    pod.status.CopyFrom(first)
    assert status(pod, instances) == first


def test_pending_init_containers_keep_app_containers_initializing():
    pod = a_pod("Always", "main")
    pod.spec.init_containers.add(name="setup", image="busybox:1.35")
    st = status(pod, {"setup": [info("setup", "running")]})
    assert st.phase == "Pending"
    assert st.container_statuses[0].state.waiting.reason == "PodInitializing"
    assert {c.type: c.status for c in st.conditions}["Initialized"] == "False"


def conditions(st: core_pb2.PodStatus) -> dict[str, tuple[str, str, str]]:
    return {c.type: (c.status, c.reason, c.message) for c in st.conditions}


def test_a_pod_is_ready_to_start_containers_once_its_sandbox_runs():
    pod = a_pod("Always", "main")
    sandbox = replace(info("pause", "running"), kind="sandbox", ip="10.1.0.2")
    up = pod_status(PodFacts(pod=pod, host_ip="127.0.0.1", sandbox=sandbox, instances={}))
    assert up.conditions[0].type == "PodReadyToStartContainers", "Kubernetes lists it first"
    assert conditions(up)["PodReadyToStartContainers"] == ("True", "", "")
    stopped = replace(sandbox, state="exited")
    for gone in (None, stopped):
        down = pod_status(PodFacts(pod=pod, host_ip="127.0.0.1", sandbox=gone, instances={}))
        assert conditions(down)["PodReadyToStartContainers"] == ("False", "", "")


@pytest.mark.parametrize(
    ("exit_code", "phase", "reason"),
    [(0, "Succeeded", "PodCompleted"), (1, "Failed", "PodFailed")],
    ids=["succeeded", "failed"],
)
def test_an_ended_pod_says_how_it_ended_and_names_no_container(exit_code, phase, reason):
    pod = a_pod("Never", "main")
    st = status(pod, {"main": [info("main", "exited", exit_code=exit_code)]})
    assert st.phase == phase
    found = conditions(st)
    assert found["Ready"] == found["ContainersReady"] == ("False", reason, "")
    initialized = ("True", "PodCompleted", "") if phase == "Succeeded" else ("True", "", "")
    assert found["Initialized"] == initialized


def test_an_init_container_that_succeeded_is_ready():
    pod = a_pod("Always", "main")
    pod.spec.init_containers.add(name="setup", image="busybox:1.35")
    st = status(pod, {"setup": [info("setup", "exited", exit_code=0)]})
    assert st.init_container_statuses[0].ready
    assert conditions(st)["Initialized"] == ("True", "", "")
    assert st.container_statuses[0].state.waiting.reason == "ContainerCreating"


def test_a_pod_failed_in_its_init_containers_is_not_initialized_and_says_which():
    pod = a_pod("Never", "main")
    pod.spec.init_containers.add(name="setup", image="busybox:1.35")
    st = status(pod, {"setup": [info("setup", "exited", exit_code=3)]})
    assert st.phase == "Failed"
    assert not st.init_container_statuses[0].ready
    assert conditions(st)["Initialized"] == (
        "False",
        "ContainersNotInitialized",
        "containers with incomplete status: [setup]",
    )


def test_a_sidecar_running_but_not_past_its_startup_probe_keeps_the_pod_uninitialized():
    pod = sided("Always")
    st = pod_status(
        PodFacts(
            pod=pod,
            host_ip="127.0.0.1",
            sandbox=None,
            instances={"side": [info("side", "running")]},
            started=lambda cid: False,
        )
    )
    assert conditions(st)["Initialized"] == (
        "False",
        "ContainersNotInitialized",
        "containers with incomplete status: [side]",
    )


def sided(policy: str) -> core_pb2.Pod:
    pod = a_pod(policy, "main")
    pod.spec.init_containers.add(name="side", image="busybox:1.35", restart_policy="Always")
    return pod


def test_a_running_sidecar_neither_holds_a_finished_pod_nor_counts_for_its_phase():
    instances = {"side": [info("side", "running")], "main": [info("main", "exited", exit_code=0)]}
    done = status(sided("Never"), instances)
    assert done.phase == "Succeeded"
    assert done.init_container_statuses[0].state.HasField("running")


def test_a_sidecar_not_yet_running_keeps_the_pod_initializing():
    waiting = status(sided("Always"), {})
    assert waiting.phase == "Pending"
    initialized = {c.type: c for c in waiting.conditions}["Initialized"]
    assert (initialized.status, initialized.message) == (
        "False",
        "containers with incomplete status: [side]",
    )
    assert waiting.container_statuses[0].state.waiting.reason == "PodInitializing"


def test_an_unready_sidecar_makes_the_pod_unready():
    instances = {"side": [info("side", "running")], "main": [info("main", "running")]}
    unready = status(sided("Always"), instances, ready=lambda cid: not cid.startswith("side"))
    ready = {c.type: c for c in unready.conditions}["Ready"]
    assert (ready.status, ready.message) == ("False", "containers with unready status: [side]")
    assert {c.type: c for c in unready.conditions}["Initialized"].status == "True"


def test_conditions_the_kubelet_does_not_own_are_kept_and_its_own_are_rewritten():
    pod = a_pod("Never", "main")
    pod.status.conditions.add(type="ConfigIssue", status="True", reason="BadImage")
    pod.status.conditions.add(type="DisruptionTarget", status="True")
    pod.status.conditions.add(type="Ready", status="Unknown")
    out = status(pod, {"main": [info("main", "exited", exit_code=1)]})
    kept = {c.type: (c.status, c.reason) for c in out.conditions}
    assert kept["ConfigIssue"] == ("True", "BadImage")
    assert kept["DisruptionTarget"] == ("True", "")
    assert kept["Ready"][0] == "False"
    assert [c.type for c in out.conditions].count("Ready") == 1


GATE = "www.example.com/feature-1"


def gated(*conditions: tuple[str, str]) -> core_pb2.Pod:
    """A running pod with readiness gates on GATE and "other", and these conditions of
    someone else's in its status (as a controller writes them through pods/status)."""
    pod = a_pod("Always", "main")
    pod.spec.readiness_gates.add(condition_type=GATE)
    pod.spec.readiness_gates.add(condition_type="other")
    for type_, value in conditions:
        pod.status.conditions.add(type=type_, status=value, reason="SetByController")
    return pod


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (
            [],
            f'corresponding condition of pod readiness gate "{GATE}" does not exist., '
            'corresponding condition of pod readiness gate "other" does not exist.',
        ),
        (
            [(GATE, "False"), ("other", "True")],
            f'the status of pod readiness gate "{GATE}" is not "True", but False',
        ),
        (
            [(GATE, "True"), ("other", "Unknown")],
            'the status of pod readiness gate "other" is not "True", but Unknown',
        ),
        (
            # The first condition of a type is the one read, as Kubernetes reads it.
            [(GATE, "True"), ("other", "False"), ("other", "True")],
            'the status of pod readiness gate "other" is not "True", but False',
        ),
    ],
    ids=["both-missing", "one-false", "one-unknown", "first-of-a-type"],
)
def test_a_closed_readiness_gate_keeps_a_pod_with_ready_containers_unready(conditions, message):
    out = status(gated(*conditions), {"main": [info("main", "running")]})
    conds = {c.type: c for c in out.conditions}
    assert conds["ContainersReady"].status == "True"
    ready = conds["Ready"]
    assert (ready.status, ready.reason, ready.message) == (
        "False",
        "ReadinessGatesNotReady",
        message,
    )


def test_a_pod_is_ready_once_every_gate_is_true_and_keeps_the_gates_conditions():
    pod = gated((GATE, "True"), ("other", "True"))
    out = status(pod, {"main": [info("main", "running")]})
    conds = {c.type: c for c in out.conditions}
    assert conds["Ready"].status == "True" and not conds["Ready"].reason
    assert (conds[GATE].status, conds[GATE].reason) == ("True", "SetByController")
    assert conds["other"].status == "True"


def test_unready_containers_speak_for_ready_before_the_gates():
    out = status(gated(), {"main": [info("main", "running")]}, ready=lambda cid: False)
    ready = {c.type: c for c in out.conditions}["Ready"]
    assert (ready.status, ready.reason, ready.message) == (
        "False",
        "ContainersNotReady",
        "containers with unready status: [main]",
    )


def test_a_gate_opening_turns_ready_and_the_next_status_is_unchanged():
    pod = gated((GATE, "True"), ("other", "False"))
    instances = {"main": [info("main", "running")]}
    pod.status.CopyFrom(status(pod, instances))
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "False"
    # Someone else's status write sets the condition; the kubelet's next status follows.
    [other] = [c for c in pod.status.conditions if c.type == "other"]
    other.status = "True"
    opened = status(pod, instances)
    assert {c.type: c.status for c in opened.conditions}["Ready"] == "True"
    pod.status.CopyFrom(opened)
    assert status(pod, instances) == opened

"""A pod's status computed from what the runtime shows, the probes and the worker's waits.

Pure functions: the pod worker gathers the facts, this module turns them into the
PodStatus Kubernetes would report (phase, conditions, container statuses), keeping a
condition's lastTransitionTime when its status did not change so that an unchanged pod
produces an identical status and is not written again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from client.ephemeral import as_container
from client.sidecars import is_sidecar, sidecars
from client.timestamps import now
from kubelet.runtime.interface import ContainerInfo
from proto import core_pb2, meta_pb2

TERMINAL = ("Succeeded", "Failed")


@dataclass
class PodFacts:
    """Everything the status is computed from."""

    pod: core_pb2.Pod
    host_ip: str
    sandbox: ContainerInfo | None
    instances: dict[str, list[ContainerInfo]]
    """Container name -> its containers, newest attempt first."""
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Container name -> (reason, message) the worker decided on (back-off, pull error...)."""
    ready: Callable[[str], bool] = lambda cid: True
    started: Callable[[str], bool] = lambda cid: True
    start_time: str = ""
    ended: tuple[str, str] | None = None
    """(reason, message) when the kubelet fails the pod itself (DeadlineExceeded...)."""


def _terminated(info: ContainerInfo) -> core_pb2.ContainerStateTerminated:
    return core_pb2.ContainerStateTerminated(
        exit_code=info.exit_code,
        reason=info.reason or ("Completed" if info.exit_code == 0 else "Error"),
        started_at=info.started_at,
        finished_at=info.finished_at,
        container_id=f"docker://{info.id}",
    )


def container_status(
    spec: core_pb2.Container, facts: PodFacts, default_wait: str
) -> core_pb2.ContainerStatus:
    """One container's status: state, lastState, ready, started, restartCount, IDs."""
    st = core_pb2.ContainerStatus(name=spec.name, image=spec.image)
    inst = facts.instances.get(spec.name, [])
    latest = inst[0] if inst else None
    wait = facts.waiting.get(spec.name)
    previous = inst[1] if len(inst) > 1 else None
    if latest is None:
        reason, message = wait or (default_wait, "")
        st.state.waiting.CopyFrom(core_pb2.ContainerStateWaiting(reason=reason, message=message))
        st.started = False
        return st
    st.restart_count = latest.attempt
    st.image_id = latest.image_id
    st.container_id = f"docker://{latest.id}"
    if latest.running:
        st.state.running.started_at = latest.started_at
        st.started = facts.started(latest.id)
        st.ready = st.started and facts.ready(latest.id)
        if previous is not None and previous.state == "exited":
            st.last_state.terminated.CopyFrom(_terminated(previous))
    elif latest.state == "exited":
        st.started = False
        if wait is not None:
            st.state.waiting.CopyFrom(
                core_pb2.ContainerStateWaiting(reason=wait[0], message=wait[1])
            )
            st.last_state.terminated.CopyFrom(_terminated(latest))
        else:
            st.state.terminated.CopyFrom(_terminated(latest))
            if previous is not None and previous.state == "exited":
                st.last_state.terminated.CopyFrom(_terminated(previous))
    else:
        # Created, not started: why, when the kubelet knows (the runtime refused it).
        st.started = False
        reason, message = wait or ("ContainerCreating", "")
        st.state.waiting.CopyFrom(core_pb2.ContainerStateWaiting(reason=reason, message=message))
    return st


def ephemeral_status(
    spec: core_pb2.EphemeralContainer, facts: PodFacts, old: core_pb2.ContainerStatus | None
) -> core_pb2.ContainerStatus:
    """An ephemeral container's status, in containerStatuses' form. It is never probed, so
    never ready; and it runs once: one that ran and has gone from the runtime since (with
    a dead sandbox) keeps the terminated state last reported, as Kubernetes keeps an old
    terminated status, or is reported lost if it was last seen running."""
    container = as_container(spec)
    if facts.instances.get(spec.name) or old is None or not _has_run(old):
        unprobed = replace(facts, ready=lambda cid: False, started=lambda cid: True)
        return container_status(container, unprobed, "ContainerCreating")
    if old.state.HasField("terminated"):
        return old
    st = core_pb2.ContainerStatus(
        name=old.name, image=old.image, image_id=old.image_id, container_id=old.container_id
    )
    st.state.terminated.CopyFrom(
        core_pb2.ContainerStateTerminated(
            exit_code=137,
            reason="ContainerStatusUnknown",
            message="The container could not be located when the pod was recreated",
            started_at=old.state.running.started_at,
            container_id=old.container_id,
        )
    )
    return st


def _has_run(st: core_pb2.ContainerStatus) -> bool:
    ran = st.state.HasField("running") or st.state.HasField("terminated")
    return ran and bool(st.container_id)


def ran_once(name: str, pod: core_pb2.Pod) -> bool:
    """Whether the pod's status shows the ephemeral container as started, once (its
    container may since have gone with a dead sandbox: it is not started again)."""
    return any(s.name == name and _has_run(s) for s in pod.status.ephemeral_container_statuses)


def phase(
    pod: core_pb2.Pod, inits: list[core_pb2.ContainerStatus], apps: list[core_pb2.ContainerStatus]
) -> str:
    """Kubernetes' getPhase: Pending, Running, Succeeded or Failed."""
    policy = pod.spec.restart_policy or "Always"
    apps_began = any(
        not s.state.HasField("waiting") or s.last_state.HasField("terminated") for s in apps
    )
    for spec, s in zip(pod.spec.init_containers, inits, strict=True):
        if is_sidecar(spec):
            # Until the app containers begin, a sidecar that does not run holds the pod.
            if apps_began or (s.state.HasField("running") and s.started):
                continue
            return "Pending"
        if s.state.HasField("terminated") and s.state.terminated.exit_code == 0:
            continue
        failed = s.state.HasField("terminated") or s.last_state.HasField("terminated")
        if failed and policy == "Never":
            return "Failed"
        return "Pending"
    running = waiting = stopped = succeeded = 0
    for s in apps:
        if s.state.HasField("running"):
            running += 1
        elif s.state.HasField("terminated"):
            stopped += 1
            if s.state.terminated.exit_code == 0:
                succeeded += 1
        elif s.last_state.HasField("terminated"):
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


KUBELET_CONDITIONS = frozenset(
    ("PodScheduled", "Initialized", "Ready", "ContainersReady", "PodReadyToStartContainers")
)
"""The pod conditions the kubelet writes; every other condition is someone else's."""


def _condition(
    old: dict[str, meta_pb2.Condition],
    type_: str,
    ok: bool,
    reason: str = "",
    message: str = "",
    *,
    ok_reason: str = "",
) -> meta_pb2.Condition:
    status = "True" if ok else "False"
    prior = old.get(type_)
    since = prior.last_transition_time if prior is not None and prior.status == status else now()
    return meta_pb2.Condition(
        type=type_,
        status=status,
        reason=ok_reason if ok else reason,
        message="" if ok else message,
        last_transition_time=since,
    )


def _initialized_condition(
    old: dict[str, meta_pb2.Condition],
    pod: core_pb2.Pod,
    inits: list[core_pb2.ContainerStatus],
    began: bool,
    phase_: str,
) -> meta_pb2.Condition:
    """Initialized as Kubernetes' GeneratePodInitializedCondition: True (PodCompleted) for a
    pod that succeeded, True once an app container began, else False naming each init
    container not yet done (a sidecar: not started; another: not succeeded), which a pod
    failed in its init containers keeps."""
    if phase_ == "Succeeded":
        return _condition(old, "Initialized", True, ok_reason="PodCompleted")
    incomplete = [
        s.name
        for spec, s in zip(pod.spec.init_containers, inits, strict=True)
        if not (s.started if is_sidecar(spec) else s.ready)
    ]
    return _condition(
        old,
        "Initialized",
        began or not incomplete,
        "ContainersNotInitialized",
        f"containers with incomplete status: [{' '.join(incomplete)}]",
    )


READINESS_GATES_NOT_READY = "ReadinessGatesNotReady"


def unready_gates(pod: core_pb2.Pod) -> list[str]:
    """Kubernetes' words for each readiness gate whose condition (someone else's, written
    through pods/status) is missing or not True; empty when every gate is open."""
    found: list[str] = []
    for gate in pod.spec.readiness_gates:
        name = gate.condition_type
        # The first condition of the type, as Kubernetes' GetPodConditionFromList reads it.
        condition = next((c for c in pod.status.conditions if c.type == name), None)
        if condition is None:
            found.append(f'corresponding condition of pod readiness gate "{name}" does not exist.')
        elif condition.status != "True":
            found.append(
                f'the status of pod readiness gate "{name}" is not "True", but {condition.status}'
            )
    return found


def _ready_condition(
    old: dict[str, meta_pb2.Condition],
    pod: core_pb2.Pod,
    containers_ready: bool,
    reason: str,
    message: str,
) -> meta_pb2.Condition:
    """Ready: ContainersReady's verdict while the containers are not ready, then the
    readiness gates' (Kubernetes' GeneratePodReadyCondition)."""
    gates = unready_gates(pod) if containers_ready else []
    if gates:
        return _condition(old, "Ready", False, READINESS_GATES_NOT_READY, ", ".join(gates))
    return _condition(old, "Ready", containers_ready, reason, message)


def pod_status(facts: PodFacts) -> core_pb2.PodStatus:
    """The full status the kubelet reports for the pod."""
    pod = facts.pod
    old = pod.status
    out = core_pb2.PodStatus(host_ip=facts.host_ip, qos_class=old.qos_class)
    out.start_time = old.start_time or facts.start_time or now()
    ip = facts.sandbox.ip if facts.sandbox is not None else old.pod_ip
    if ip:
        out.pod_ip = ip
        out.pod_ips.add(ip=ip)
    inits = [container_status(c, facts, "PodInitializing") for c in pod.spec.init_containers]
    for spec, s in zip(pod.spec.init_containers, inits, strict=True):
        if not is_sidecar(spec):
            # Kubernetes' prober reports an init container that succeeded as ready.
            s.ready = s.state.HasField("terminated") and s.state.terminated.exit_code == 0
    began = any(facts.instances.get(c.name) for c in pod.spec.containers)
    init_done = began or all(
        (s.state.HasField("running") and s.started)
        if is_sidecar(spec)
        else (s.state.HasField("terminated") and s.state.terminated.exit_code == 0)
        for spec, s in zip(pod.spec.init_containers, inits, strict=True)
    )
    app_wait = "ContainerCreating" if init_done else "PodInitializing"
    apps = [container_status(c, facts, app_wait) for c in pod.spec.containers]
    out.init_container_statuses.extend(inits)
    out.container_statuses.extend(apps)
    # Ephemeral containers count for nothing below: not the phase, not Ready.
    before = {s.name: s for s in old.ephemeral_container_statuses}
    out.ephemeral_container_statuses.extend(
        ephemeral_status(e, facts, before.get(e.name)) for e in pod.spec.ephemeral_containers
    )
    out.phase = old.phase if old.phase in TERMINAL else phase(pod, inits, apps)
    if old.phase in TERMINAL:
        # Why it ended (Evicted, DeadlineExceeded...) outlives the containers' last words.
        out.reason, out.message = old.reason, old.message
    elif facts.ended is not None:
        out.phase = "Failed"
        out.reason, out.message = facts.ended

    conds = {c.type: c for c in old.conditions}
    terminal = out.phase in TERMINAL
    side = {c.name for c in sidecars(pod.spec)}
    # A sidecar's readiness counts toward the pod's, as in Kubernetes.
    unready = [s.name for s in inits if s.name in side and not s.ready]
    unready += [s.name for s in apps if not s.ready]
    if terminal:
        # Kubernetes says only how the pod ended, naming no containers.
        reason, msg = ("PodCompleted" if out.phase == "Succeeded" else "PodFailed"), ""
    else:
        reason, msg = "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]"
    containers_ready = not unready and not terminal
    # The sandbox's network is up: containers can be started (Kubernetes 1.29+ reports it
    # first; a pod that ended has its sandbox stopped, and reads False).
    has_sandbox = facts.sandbox is not None and facts.sandbox.running
    out.conditions.extend(
        [
            _condition(conds, "PodReadyToStartContainers", has_sandbox),
            _initialized_condition(conds, pod, inits, began, out.phase),
            _ready_condition(conds, pod, containers_ready, reason, msg),
            _condition(conds, "ContainersReady", containers_ready, reason, msg),
            conds.get("PodScheduled")
            or meta_pb2.Condition(type="PodScheduled", status="True", last_transition_time=now()),
        ]
    )
    # Conditions others own (DisruptionTarget from an eviction, a Job's failure-policy
    # condition set by a user) are kept, as the kubelet keeps them in Kubernetes.
    out.conditions.extend(c for c in old.conditions if c.type not in KUBELET_CONDITIONS)
    return out

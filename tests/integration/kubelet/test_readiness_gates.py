"""A pod's readiness gates with a kubelet and a real API server: the kubelet keeps the pod
not Ready, saying which gate is closed, until someone else's status write (a controller's
UpdateStatus) sets the gate's condition True; it then reports Ready without dropping that
condition, and not Ready again when the condition turns False. The fake runtime stands in
for Docker: what is tested is the kubelet's status, not the containers."""

from __future__ import annotations

from collections.abc import Callable

from client.api import ApiClient
from client.errors import Conflict
from client.timestamps import now
from kubelet.runtime.fake import FakeRuntime
from proto import core_pb2, meta_pb2
from tests.integration.kubelet.pods import condition, container, get_pod, pod, wait_for_pod

GATE = "www.example.com/feature-1"


def ready_condition(p: core_pb2.Pod) -> meta_pb2.Condition:
    [ready] = [c for c in p.status.conditions if c.type == "Ready"]
    return ready


async def set_gate(api: ApiClient, name: str, status: str) -> None:
    """Set the gate's condition as a controller does: read, change, write the status,
    again after a Conflict with the kubelet's own writes."""
    while True:
        p = await get_pod(api, name)
        found = [c for c in p.status.conditions if c.type == GATE]
        if found:
            found[0].status = status
        else:
            p.status.conditions.add(type=GATE, status=status, last_transition_time=now())
        try:
            await api.update_status(p)
            return
        except Conflict:
            continue


def ready_is(status: str, reason: str = "") -> Callable[[core_pb2.Pod], bool]:
    def check(p: core_pb2.Pod) -> bool:
        if condition(p, "Ready") != status:
            return False
        return not reason or ready_condition(p).reason == reason

    return check


async def test_a_gated_pod_is_ready_only_while_its_gates_condition_is_true(
    api, kubelets, node_name
):
    await kubelets.start(node_name, FakeRuntime(node_name))
    gated = pod("gated", node_name, container("main", "sleep", "3600"))
    gated.spec.readiness_gates.add(condition_type=GATE)
    await api.create(gated)

    waiting = await wait_for_pod(api, "gated", ready_is("False", "ReadinessGatesNotReady"))
    assert condition(waiting, "ContainersReady") == "True"
    assert ready_condition(waiting).message == (
        f'corresponding condition of pod readiness gate "{GATE}" does not exist.'
    )

    await set_gate(api, "gated", "True")
    opened = await wait_for_pod(api, "gated", ready_is("True"), what="Ready once the gate opens")
    # The kubelet's own status writes keep the condition it does not own.
    assert condition(opened, GATE) == "True"

    await set_gate(api, "gated", "False")
    closed = await wait_for_pod(api, "gated", ready_is("False"), what="unready once it closes")
    assert ready_condition(closed).message == (
        f'the status of pod readiness gate "{GATE}" is not "True", but False'
    )
    assert condition(closed, GATE) == "False"

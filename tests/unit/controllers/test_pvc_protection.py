"""Which pods keep a claim from going (pvc_protection.pod_uses_claim): scheduled,
unfinished pods naming it, and for a generic ephemeral volume only the pod it belongs to."""

from __future__ import annotations

import pytest

from master.controllers.pvc_protection import pod_uses_claim
from proto import core_pb2


def a_pod(*, node: str = "node-a", phase: str = "Running") -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace, pod.metadata.uid = "web", "default", "pod-uid"
    pod.spec.node_name, pod.status.phase = node, phase
    pod.spec.volumes.add(name="data").persistent_volume_claim.claim_name = "data"
    scratch = pod.spec.volumes.add(name="scratch")
    scratch.ephemeral.volume_claim_template.spec.access_modes.append("ReadWriteOnce")
    return pod


def a_claim(name: str, owner_uid: str = "") -> core_pb2.PersistentVolumeClaim:
    pvc = core_pb2.PersistentVolumeClaim()
    pvc.metadata.name, pvc.metadata.namespace = name, "default"
    if owner_uid:
        pvc.metadata.owner_references.add(kind="Pod", name="web", uid=owner_uid, controller=True)
    return pvc


def test_a_running_pod_keeps_its_named_claim_and_its_own_ephemeral_claim() -> None:
    assert pod_uses_claim(a_pod(), a_claim("data"))
    assert pod_uses_claim(a_pod(), a_claim("web-scratch", owner_uid="pod-uid"))


def test_a_namesake_of_the_ephemeral_claim_that_the_pod_does_not_own_is_not_kept() -> None:
    assert not pod_uses_claim(a_pod(), a_claim("web-scratch"))
    assert not pod_uses_claim(a_pod(), a_claim("web-scratch", owner_uid="an-earlier-pod"))


@pytest.mark.parametrize(
    "pod",
    [a_pod(node=""), a_pod(phase="Succeeded"), a_pod(phase="Failed")],
    ids=["unscheduled", "succeeded", "failed"],
)
def test_an_unscheduled_or_finished_pod_keeps_no_claim(pod: core_pb2.Pod) -> None:
    assert not pod_uses_claim(pod, a_claim("data"))
    assert not pod_uses_claim(pod, a_claim("web-scratch", owner_uid="pod-uid"))


def test_a_pod_deleted_with_no_grace_left_lets_its_ephemeral_claim_go() -> None:
    """Its foreground deletion waits for the claim, which would otherwise wait for it."""
    pod = a_pod()
    pod.metadata.deletion_timestamp = "2026-12-07T16:00:00Z"
    pod.metadata.deletion_grace_period_seconds = 30
    assert pod_uses_claim(pod, a_claim("web-scratch", owner_uid="pod-uid"))  # still stopping
    pod.metadata.deletion_grace_period_seconds = 0
    assert not pod_uses_claim(pod, a_claim("web-scratch", owner_uid="pod-uid"))
    assert pod_uses_claim(pod, a_claim("data"))  # a claim it names is its user's to keep

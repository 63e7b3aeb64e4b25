"""Generic ephemeral volumes: which claim a pod's volume is, and whether it is the pod's.

A volume with `ephemeral.volumeClaimTemplate` is a PersistentVolumeClaim of the pod's
own, named `<pod name>-<volume name>` and controlled by the pod (Kubernetes'
component-helpers/storage/ephemeral). Four components read that rule: the ephemeral-
volume controller makes the claim, the scheduler binds it, the kubelet mounts it and
pvc-protection keeps it while the pod runs. It lives here, once, so they can never
disagree on a name or on which claim a pod may use. A claim of that name that the pod
does not control is never used: it may be someone's data that happens to carry the name,
so the pod waits (with Kubernetes' message) rather than take it over.
"""

from __future__ import annotations

from dataclasses import dataclass

from proto import core_pb2

__all__ = ["PodClaim", "claim_name", "has_ephemeral", "not_for_pod", "pod_claims"]


@dataclass(frozen=True)
class PodClaim:
    """A claim one of the pod's volumes uses."""

    volume: str
    """The volume's name in the pod spec."""
    name: str
    """The claim's name, in the pod's namespace."""
    ephemeral: bool
    """Made for the pod from a template (so it must be the pod's own), not named by it."""


def claim_name(pod: core_pb2.Pod, volume: core_pb2.Volume) -> str:
    """The claim of the pod's ephemeral `volume`: `<pod>-<volume>`."""
    return f"{pod.metadata.name}-{volume.name}"


def has_ephemeral(pod: core_pb2.Pod) -> bool:
    """Whether any volume of the pod is a generic ephemeral one."""
    return any(v.HasField("ephemeral") for v in pod.spec.volumes)


def pod_claims(pod: core_pb2.Pod) -> list[PodClaim]:
    """The claims of the pod's persistentVolumeClaim and ephemeral volumes, in order."""
    found: list[PodClaim] = []
    for v in pod.spec.volumes:
        if v.HasField("persistent_volume_claim"):
            found.append(PodClaim(v.name, v.persistent_volume_claim.claim_name, False))
        elif v.HasField("ephemeral"):
            found.append(PodClaim(v.name, claim_name(pod, v), True))
    return found


def not_for_pod(pod: core_pb2.Pod, pvc: core_pb2.PersistentVolumeClaim) -> str:
    """Why the pod may not use `pvc` as an ephemeral volume ("" when it may): the claim
    must be in its namespace and controlled by the pod itself (its uid, not its name, so
    a namesake pod made later never inherits an earlier one's claim)."""
    controlled = any(
        ref.controller and ref.uid == pod.metadata.uid for ref in pvc.metadata.owner_references
    )
    if pvc.metadata.namespace == pod.metadata.namespace and controlled:
        return ""
    return (
        f"PVC {pvc.metadata.namespace}/{pvc.metadata.name} was not created for pod "
        f"{pod.metadata.namespace}/{pod.metadata.name} (pod is not owner)"
    )

"""VolumeBinding: a pod goes only where its claims' volumes are, or can be made.

As Kubernetes' VolumeBinding plugin, for the pod's persistentVolumeClaim volumes and its
generic ephemeral volumes, each of which is the claim `<pod>-<volume>` that the
ephemeral-volume controller makes (client/ephemeral_volumes.py):

- PreFilter: every claim must exist and not be being deleted; an ephemeral volume's claim
  must be the pod's own (a namesake the pod does not control is someone else's data; the
  pod waits until it is gone, as in Kubernetes); an unbound claim must be of
  a WaitForFirstConsumer class (an Immediate claim is the binder's to bind first). Any
  of these failing rejects every node with its reason; the pod stays Pending and is
  tried again when a claim, volume or class changes.
- Filter: a bound claim's volume must accept the node (its node affinity: a local or
  local-path volume lives on one node). An unbound WaitForFirstConsumer claim needs an
  Available volume that fits it and accepts the node (client/storage.py's rule, the one
  the binder then applies), or a class with a provisioner whose allowedTopologies admit
  the node; a claim already promised to a node (`volume.kubernetes.io/selected-node`)
  fits only there.
- PreBind (`select_node_for_claims`, called by the API writer just before the pod's
  bind): each unbound WaitForFirstConsumer claim is annotated with the chosen node. The
  binder then binds it to a fitting volume on that node, or the class's provisioner makes
  one there. Unlike Kubernetes, the pod is bound without waiting for the claim's binding:
  the kubelet holds it in ContainerCreating until the claim is bound, which gives the
  same outcome without the scheduler waiting on another controller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from client import storage
from client.api import ApiClient
from client.ephemeral_volumes import PodClaim, not_for_pod, pod_claims
from client.errors import Conflict
from client.nodeaffinity import node_selector_matches
from master.scheduler import framework
from proto import core_pb2, storage_pb2

NAME = "VolumeBinding"
NODE_CONFLICT = "node(s) had volume node affinity conflict"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"


def claim_names(pod: core_pb2.Pod) -> list[str]:
    """The claims the pod's volumes use (named or ephemeral), in order."""
    return [claim.name for claim in pod_claims(pod)]


def _missing(claim: PodClaim) -> str:
    if claim.ephemeral:
        # Normal for a moment after the pod is made, so said as a wait, not a fault.
        return (
            "waiting for ephemeral volume controller to create the persistentvolumeclaim "
            f'"{claim.name}"'
        )
    return f'persistentvolumeclaim "{claim.name}" not found'


@dataclass
class _Claims:
    """What PreFilter found, for Filter to check per node."""

    bound: list[core_pb2.PersistentVolume] = field(default_factory=list)
    missing_volume: bool = False
    unbound: list[tuple[core_pb2.PersistentVolumeClaim, storage_pb2.StorageClass]] = field(
        default_factory=list
    )
    volumes: list[core_pb2.PersistentVolume] = field(default_factory=list)


def _accepts(pv: core_pb2.PersistentVolume, node: core_pb2.Node) -> bool:
    if not pv.spec.HasField("node_affinity"):
        return True
    return node_selector_matches(pv.spec.node_affinity.required, node)


def _topology_allows(sc: storage_pb2.StorageClass, node: core_pb2.Node) -> bool:
    if not sc.allowed_topologies:
        return True
    labels = node.metadata.labels
    return any(
        all(labels.get(r.key) in r.values for r in term.match_label_expressions)
        for term in sc.allowed_topologies
    )


@framework.register(NAME)
class VolumeBinding:
    """Filters nodes by where the pod's claims are bound, or could be bound or made."""

    name = NAME

    def pre_filter(
        self, state: framework.CycleState, pod: framework.PodInfo, snapshot: framework.Snapshot
    ) -> framework.Status:
        """Skip pods without claims; reject all nodes for a missing, deleted or unbound
        Immediate claim, or an ephemeral volume's claim not yet made or not the pod's."""
        claims = pod_claims(pod.pod)
        if not claims:
            return framework.Status.skip(NAME)
        objects = snapshot.volumes
        found = _Claims(volumes=list(objects.volumes.values()))
        namespace = pod.pod.metadata.namespace
        for claim in claims:
            name = claim.name
            pvc = objects.claims.get(f"{namespace}/{name}")
            if pvc is None:
                return framework.Status.unresolvable(NAME, _missing(claim))
            if pvc.metadata.deletion_timestamp:
                return framework.Status.unresolvable(
                    NAME, f'persistentvolumeclaim "{name}" is being deleted'
                )
            if claim.ephemeral and (problem := not_for_pod(pod.pod, pvc)):
                return framework.Status.unresolvable(NAME, problem)
            if pvc.spec.volume_name:
                pv = objects.volumes.get(pvc.spec.volume_name)
                if pv is None:
                    found.missing_volume = True
                else:
                    found.bound.append(pv)
                continue
            sc = objects.classes.get(storage.claim_class(pvc))
            if sc is None or sc.volume_binding_mode != WAIT_FOR_FIRST_CONSUMER:
                return framework.Status.unresolvable(NAME, UNBOUND_IMMEDIATE)
            found.unbound.append((pvc, sc))
        state[NAME] = found
        return framework.SUCCESS

    def filter(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status:
        """Unresolvable: evicting pods does not move a volume."""
        found: _Claims = state[NAME]
        if found.missing_volume:
            return framework.Status.unresolvable(NAME, PV_NOT_EXIST)
        if not all(_accepts(pv, node.node) for pv in found.bound):
            return framework.Status.unresolvable(NAME, NODE_CONFLICT)
        promised: list[str] = []
        for pvc, sc in found.unbound:
            selected = pvc.metadata.annotations.get(storage.SELECTED_NODE)
            if selected and selected != node.name:
                return framework.Status.unresolvable(NAME, BIND_CONFLICT)
            pv = storage.find_matching_volume(
                pvc, found.volumes, node_fits=lambda v: _accepts(v, node.node), taken=promised
            )
            if pv is not None:
                promised.append(pv.metadata.name)
                continue
            provisions = sc.provisioner and sc.provisioner != storage.NO_PROVISIONER
            if not provisions or not _topology_allows(sc, node.node):
                return framework.Status.unresolvable(NAME, BIND_CONFLICT)
        return framework.SUCCESS


async def select_node_for_claims(api: ApiClient, pod: core_pb2.Pod, node: str) -> None:
    """PreBind: annotate each unbound WaitForFirstConsumer claim of `pod` with `node`.

    Read from the API server, not the cache, and written guarded by resourceVersion; a
    claim bound meanwhile is left alone. Raises (so the bind fails and the pod is tried
    again) when a claim cannot be written.
    """
    namespace = pod.metadata.namespace
    for name in claim_names(pod):
        for _attempt in range(3):
            pvc = await api.get("persistentvolumeclaims", namespace, name)
            assert isinstance(pvc, core_pb2.PersistentVolumeClaim)
            if pvc.spec.volume_name or pvc.metadata.annotations.get(storage.SELECTED_NODE) == node:
                break
            if not storage.claim_class(pvc):
                break
            sc = await api.get("storageclasses", "", storage.claim_class(pvc))
            assert isinstance(sc, storage_pb2.StorageClass)
            if sc.volume_binding_mode != WAIT_FOR_FIRST_CONSUMER:
                break
            pvc.metadata.annotations[storage.SELECTED_NODE] = node
            try:
                await api.update(pvc)
            except Conflict:
                continue
            break

"""VolumeBinding: pods go where their claims' volumes are or can be made, else stay Pending
with a named reason."""

from __future__ import annotations

from typing import Any, cast

import pytest

from client.api import ApiClient
from client.codec import from_dict
from master.scheduler.framework import Code, CycleState, PodInfo, Snapshot
from master.scheduler.plugins.volume_binding import (
    BIND_CONFLICT,
    NODE_CONFLICT,
    UNBOUND_IMMEDIATE,
    VolumeBinding,
    select_node_for_claims,
)
from master.scheduler.volumes import VolumeObjects
from proto import core_pb2, storage_pb2
from tests.unit.scheduler.builders import filter_all, node, node_info, pod


def claim(name: str, cls: str = "local-path", volume: str = "", **annotations: str) -> Any:
    return from_dict(
        core_pb2.PersistentVolumeClaim,
        {
            "metadata": {"name": name, "namespace": "default", "annotations": annotations},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": cls,
                "volumeName": volume,
            },
        },
    )


def local_volume(name: str, node_name: str, cls: str = "local-path", **extra: Any) -> Any:
    return from_dict(
        core_pb2.PersistentVolume,
        {
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": cls,
                "local": {"path": "/mnt/disk"},
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/hostname",
                                        "operator": "In",
                                        "values": [node_name],
                                    }
                                ]
                            }
                        ]
                    }
                },
                **extra,
            },
            "status": {"phase": "Available"},
        },
    )


def storage_class(name: str, mode: str, provisioner: str = "tugboat.io/local-path") -> Any:
    return from_dict(
        storage_pb2.StorageClass,
        {"metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode},
    )


def run(*objects: Any, claim_name: str = "data") -> dict[str, Any]:
    store = VolumeObjects()
    for obj in objects:
        store.set(obj)
    snap = Snapshot([node_info(node("a")), node_info(node("b"))], {}, store)
    p = pod("web", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": claim_name}}])
    plugin = VolumeBinding()
    st = plugin.pre_filter(CycleState(), PodInfo.of(p), snap)
    if not st.ok:
        return {"prefilter": st}
    return filter_all(plugin, p, snap)


WFFC = storage_class("local-path", "WaitForFirstConsumer")


def test_a_pod_without_claims_is_not_this_plugins_business() -> None:
    snap = Snapshot([node_info(node("a"))])
    assert filter_all(VolumeBinding(), pod("web"), snap)["a"].ok


def test_a_missing_claim_keeps_the_pod_pending_with_its_name() -> None:
    st = run(WFFC)["prefilter"]
    assert st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert st.reasons == ('persistentvolumeclaim "data" not found',)


def test_an_unbound_immediate_claim_keeps_the_pod_pending() -> None:
    st = run(storage_class("fast", "Immediate"), claim("data", cls="fast"))["prefilter"]
    assert st.reasons == (UNBOUND_IMMEDIATE,)


def test_a_claim_bound_to_a_local_volume_sends_the_pod_to_that_node() -> None:
    statuses = run(WFFC, claim("data", volume="pv-b"), local_volume("pv-b", "b"))
    assert statuses["b"].ok
    assert statuses["a"].reasons == (NODE_CONFLICT,)


def test_an_unbound_wait_for_first_consumer_claim_fits_where_a_volume_can_be_made() -> None:
    statuses = run(WFFC, claim("data"))
    assert statuses["a"].ok and statuses["b"].ok


def test_a_claim_for_hand_made_volumes_only_fits_where_one_is() -> None:
    manual = storage_class("manual", "WaitForFirstConsumer", "kubernetes.io/no-provisioner")
    statuses = run(manual, claim("data", cls="manual"), local_volume("pv-a", "a", cls="manual"))
    assert statuses["a"].ok
    assert statuses["b"].reasons == (BIND_CONFLICT,)


def test_a_claim_already_promised_to_a_node_fits_only_there() -> None:
    statuses = run(WFFC, claim("data", **{"volume.kubernetes.io/selected-node": "b"}))
    assert statuses["b"].ok
    assert statuses["a"].reasons == (BIND_CONFLICT,)


# ---- generic ephemeral volumes: the claim `<pod>-<volume>`, the pod's own ----

SCRATCH = {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}


def ephemeral_pod(uid: str = "pod-uid") -> core_pb2.Pod:
    p = pod("web", volumes=[SCRATCH])
    p.metadata.uid = uid
    return p


def owned_by(pvc: Any, uid: str, *, controller: bool = True) -> Any:
    pvc.metadata.owner_references.add(
        api_version="v1", kind="Pod", name="web", uid=uid, controller=controller
    )
    return pvc


def run_ephemeral(*objects: Any) -> dict[str, Any]:
    store = VolumeObjects()
    for obj in objects:
        store.set(obj)
    snap = Snapshot([node_info(node("a")), node_info(node("b"))], {}, store)
    p = ephemeral_pod()
    plugin = VolumeBinding()
    st = plugin.pre_filter(CycleState(), PodInfo.of(p), snap)
    if not st.ok:
        return {"prefilter": st}
    return filter_all(plugin, p, snap)


def test_an_ephemeral_volume_waits_for_its_claim_to_be_made() -> None:
    st = run_ephemeral(WFFC)["prefilter"]
    assert st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert st.reasons == (
        'waiting for ephemeral volume controller to create the persistentvolumeclaim "web-scratch"',
    )


def test_an_ephemeral_volumes_own_unbound_claim_fits_where_a_volume_can_be_made() -> None:
    statuses = run_ephemeral(WFFC, owned_by(claim("web-scratch"), "pod-uid"))
    assert statuses["a"].ok and statuses["b"].ok


def test_an_ephemeral_volumes_own_bound_claim_sends_the_pod_to_its_volume() -> None:
    bound = owned_by(claim("web-scratch", volume="pv-b"), "pod-uid")
    statuses = run_ephemeral(WFFC, bound, local_volume("pv-b", "b"))
    assert statuses["b"].ok
    assert statuses["a"].reasons == (NODE_CONFLICT,)


@pytest.mark.parametrize(
    "pvc",
    [
        claim("web-scratch"),
        owned_by(claim("web-scratch"), "an-earlier-pod-of-that-name"),
        owned_by(claim("web-scratch"), "pod-uid", controller=False),
    ],
    ids=["no-owner", "another-pods", "owner-but-not-controller"],
)
def test_a_namesake_claim_not_made_for_the_pod_keeps_it_pending(pvc: Any) -> None:
    st = run_ephemeral(WFFC, pvc)["prefilter"]
    assert st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert st.reasons == (
        "PVC default/web-scratch was not created for pod default/web (pod is not owner)",
    )


class ClaimApi:
    """Gets of the claims and classes given; updates recorded."""

    def __init__(self, *objects: Any) -> None:
        self.objects = {obj.metadata.name: obj for obj in objects}
        self.updated: list[Any] = []

    async def get(self, resource: str, namespace: str, name: str) -> Any:
        return self.objects[name]

    async def update(self, obj: Any) -> Any:
        self.updated.append(obj)
        return obj


async def test_the_ephemeral_volumes_claim_learns_the_chosen_node_before_the_bind() -> None:
    api = ClaimApi(WFFC, owned_by(claim("web-scratch"), "pod-uid"))
    await select_node_for_claims(cast(ApiClient, api), ephemeral_pod(), "b")
    assert [c.metadata.name for c in api.updated] == ["web-scratch"]
    assert api.updated[0].metadata.annotations["volume.kubernetes.io/selected-node"] == "b"

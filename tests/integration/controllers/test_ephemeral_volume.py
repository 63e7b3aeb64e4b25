"""Generic ephemeral volumes on a real API server, with the controllers running for real.

The ephemeral-volume controller makes each pod's claim; the binder, the local-path
provisioner, the two protection controllers, the garbage collector and the quota
controller do the rest. The test plays the scheduler (it annotates the claim with the
node it chose and binds the pod) and the kubelet (it reports the local-path helper pod
finished), as tests/integration/controllers/test_storage.py does.
"""

from __future__ import annotations

from typing import Any

import pytest

from client import storage
from client.api import ApiClient
from client.errors import NotFound
from master.controllers.local_path import HELPER_NAMESPACE, helper_name
from proto import core_pb2, policy_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, manifest, wait_for
from tests.integration.controllers.test_storage import STORAGE_CONTROLLERS, gone
from tests.support.waiting import eventually

CONTROLLERS = ("ephemeral-volume", *STORAGE_CONTROLLERS, "resourcequota")


@pytest.fixture
async def running(manager: Any, tmp_path: Any) -> Any:
    await manager.start(controllers=CONTROLLERS, local_path_dir=str(tmp_path / "lp"))
    return tmp_path / "lp"


def ephemeral(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A generic ephemeral volume of 1Gi of the default class (the docs' example)."""
    return {
        "name": name,
        "ephemeral": {
            "volumeClaimTemplate": {
                "metadata": {"labels": labels or {}},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        },
    }


def app_pod(name: str, *volumes: dict[str, Any]) -> Any:
    return manifest(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "containers": [
                    {
                        "name": "my-frontend",
                        "image": "busybox:1.35",
                        "command": ["sleep", "1000000"],
                        "volumeMounts": [
                            {"mountPath": f"/{v['name']}", "name": v["name"]} for v in volumes
                        ],
                    }
                ],
                "volumes": list(volumes),
            },
        }
    )


async def claim_of(api: ApiClient, name: str) -> core_pb2.PersistentVolumeClaim | None:
    try:
        return await fetch(api, core_pb2.PersistentVolumeClaim, name)
    except NotFound:
        return None


async def warnings(api: ApiClient, pod: str) -> list[str]:
    return [
        e.message
        for e in await fetch_all(api, core_pb2.Event)
        if e.involved_object.name == pod and e.type == "Warning"
    ]


async def test_the_docs_pod_gets_its_claim_which_binds_and_goes_with_the_pod(
    api: ApiClient, running: Any
) -> None:
    await api.create(
        manifest(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a"}},
            }
        )
    )
    pod = await api.create(
        app_pod("my-app", ephemeral("scratch-volume", {"type": "my-frontend-volume"}))
    )
    pvc = await eventually(
        lambda: claim_of(api, "my-app-scratch-volume"), timeout=20, what="the pod's claim"
    )
    (ref,) = pvc.metadata.owner_references
    assert (ref.kind, ref.name, ref.uid) == ("Pod", "my-app", pod.metadata.uid)
    assert ref.controller and ref.block_owner_deletion
    assert dict(pvc.metadata.labels) == {"type": "my-frontend-volume"}
    assert pvc.spec.storage_class_name == storage.LOCAL_PATH_CLASS  # the default class
    assert pvc.status.phase == "Pending"  # WaitForFirstConsumer: no node chosen yet
    assert storage.PVC_PROTECTION in pvc.metadata.finalizers

    # The scheduler's PreBind, then its bind.
    pvc.metadata.annotations[storage.SELECTED_NODE] = "node-a"
    await api.update(pvc)
    bound_pod = await fetch(api, core_pb2.Pod, "my-app")
    bound_pod.spec.node_name = "node-a"
    await api.update(bound_pod)

    async def bound() -> core_pb2.PersistentVolumeClaim | None:
        found = await claim_of(api, "my-app-scratch-volume")
        return found if found is not None and found.status.phase == "Bound" else None

    pvc = await eventually(bound, timeout=20, what="the claim bound to a provisioned volume")
    volume = pvc.spec.volume_name
    assert volume == f"pvc-{pvc.metadata.uid}"

    await api.delete("pods", "default", "my-app", grace_period_seconds=0)
    await wait_for(
        lambda: gone(api, "persistentvolumeclaims", "default", "my-app-scratch-volume"),
        what="the claim collected with its pod",
    )

    async def helper() -> core_pb2.Pod | None:
        try:
            return await fetch(api, core_pb2.Pod, helper_name(volume), HELPER_NAMESPACE)
        except NotFound:
            return None

    found = await eventually(helper, timeout=20, what="the helper pod that removes the data")
    found.status.phase = "Succeeded"  # the kubelet's report
    await api.update_status(found)
    await wait_for(lambda: gone(api, "persistentvolumes", "", volume), what="the volume deleted")


async def test_a_namesake_claim_is_never_taken_and_its_removal_lets_the_pods_own_be_made(
    api: ApiClient, running: Any
) -> None:
    foreign = manifest(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "web-scratch", "namespace": "default"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    await api.create(foreign)
    pod = await api.create(app_pod("web", ephemeral("scratch")))
    refusal = (
        "ephemeral volume scratch: PVC default/web-scratch was not created for pod default/web "
        "(pod is not owner)"
    )

    async def reported() -> bool:
        return refusal in await warnings(api, "web")

    await wait_for(reported, what="the pod's FailedBinding warning")
    untouched = await claim_of(api, "web-scratch")
    assert untouched is not None and not untouched.metadata.owner_references

    await api.delete("persistentvolumeclaims", "default", "web-scratch")

    async def own() -> core_pb2.PersistentVolumeClaim | None:
        found = await claim_of(api, "web-scratch")
        refs = found.metadata.owner_references if found is not None else []
        return found if [r.uid for r in refs] == [pod.metadata.uid] else None

    await eventually(own, timeout=20, what="the pod's own claim, made once the namesake went")


async def test_a_quota_counts_the_claims_and_refuses_one_too_many(
    api: ApiClient, running: Any
) -> None:
    await api.create(
        manifest(
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "team", "namespace": "default"},
                "spec": {"hard": {"persistentvolumeclaims": "1", "requests.storage": "5Gi"}},
            }
        )
    )

    async def quota_ready() -> bool:
        q = await fetch(api, policy_pb2.ResourceQuota, "team")
        return bool(q.status.hard)

    await wait_for(quota_ready, what="the quota's status")
    await api.create(app_pod("two", ephemeral("first"), ephemeral("second")))
    await eventually(lambda: claim_of(api, "two-first"), timeout=20, what="the first claim")

    async def refused() -> bool:
        return any(
            m.startswith("ephemeral volume second: create PVC two-second:") and "quota" in m
            for m in await warnings(api, "two")
        )

    await wait_for(refused, what="the second claim refused by the quota")
    assert await claim_of(api, "two-second") is None
    q = await fetch(api, policy_pb2.ResourceQuota, "team")
    assert dict(q.status.used) == {"persistentvolumeclaims": "1", "requests.storage": "1Gi"}

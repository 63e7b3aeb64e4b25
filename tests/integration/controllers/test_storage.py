"""Persistent volumes on a real API server, with the storage controllers running for real.

The test plays the scheduler where one is needed (it annotates a claim with the node it
chose, as the volume-binding plugin's PreBind does) and the kubelet (it reports the
local-path helper pod finished); everything else is the binder, the two protection
controllers, the local-path provisioner and the garbage collector.
"""

from __future__ import annotations

from typing import Any

import pytest

from client import kinds, storage
from client.api import ApiClient
from client.errors import NotFound
from master.controllers import ControllerSettings
from master.controllers.base import Context
from master.controllers.local_path import HELPER_NAMESPACE, LocalPathProvisioner, helper_name
from master.controllers.persistentvolume import PersistentVolumeBinder
from proto import core_pb2
from tests.integration.controllers.conftest import fetch, manifest, wait_for

STORAGE_CONTROLLERS = (
    "persistentvolume-binder",
    "pvc-protection",
    "pv-protection",
    "local-path-provisioner",
    "garbagecollector",
)


@pytest.fixture
async def running(manager: Any, tmp_path: Any) -> Any:
    await manager.start(controllers=STORAGE_CONTROLLERS, local_path_dir=str(tmp_path / "lp"))
    return tmp_path / "lp"


def volume(name: str, size: str, *, policy: str = "Retain", cls: str = "manual") -> Any:
    return manifest(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": policy,
                "storageClassName": cls,
                "hostPath": {"path": f"/tmp/tugboat-test-{name}"},
            },
        }
    )


def claim(name: str, size: str, cls: str | None = "manual") -> Any:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if cls is not None:
        spec["storageClassName"] = cls
    return manifest(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }
    )


async def get_claim(api: ApiClient, name: str) -> core_pb2.PersistentVolumeClaim:
    return await fetch(api, core_pb2.PersistentVolumeClaim, name)


async def get_volume(api: ApiClient, name: str) -> core_pb2.PersistentVolume:
    return await fetch(api, core_pb2.PersistentVolume, name, "")


async def gone(api: ApiClient, resource: str, namespace: str, name: str) -> bool:
    try:
        await api.get(resource, namespace, name)
    except NotFound:
        return True
    return False


async def bound(api: ApiClient, name: str) -> bool:
    pvc = await get_claim(api, name)
    return pvc.status.phase == "Bound" and bool(pvc.spec.volume_name)


async def test_a_claim_binds_to_the_smallest_volume_that_fits_both_ways(
    api: ApiClient, running: Any
) -> None:
    for name, size in (("big", "5Gi"), ("small", "1Gi"), ("middle", "2Gi")):
        await api.create(volume(name, size))

    async def available() -> bool:
        phases = [(await get_volume(api, n)).status.phase for n in ("big", "small", "middle")]
        return phases == ["Available"] * 3

    # A new volume is Pending until the binder has seen it, as in Kubernetes.
    await wait_for(available, what="the volumes Available")
    await api.create(claim("data", "1500Mi"))
    await wait_for(lambda: bound(api, "data"), what="the claim bound")
    pvc = await get_claim(api, "data")
    assert pvc.spec.volume_name == "middle"
    assert pvc.status.capacity["storage"] == "2Gi"
    assert list(pvc.status.access_modes) == ["ReadWriteOnce"]
    assert storage.PVC_PROTECTION in pvc.metadata.finalizers
    pv = await get_volume(api, "middle")
    assert (pv.spec.claim_ref.namespace, pv.spec.claim_ref.name) == ("default", "data")
    assert pv.spec.claim_ref.uid == pvc.metadata.uid

    async def phase() -> bool:
        return (await get_volume(api, "middle")).status.phase == "Bound"

    await wait_for(phase, what="the volume Bound")
    for name in ("big", "small"):
        assert (await get_volume(api, name)).status.phase == "Available"


class FrozenCache:
    """An informer's objects as they were when taken: a cache that lags the API server."""

    def __init__(self, *objects: Any) -> None:
        self.objects = {kinds.key(o): o for o in objects}

    def get(self, key: str, *, copy: bool = True) -> Any:
        return self.objects.get(key)

    def list(self, *, copy: bool = True) -> list[Any]:
        return list(self.objects.values())


async def test_a_claim_is_offered_the_volumes_the_binder_made_available_before_its_cache_has_them(
    api: ApiClient,
) -> None:
    made = [await api.create(volume(n, s)) for n, s in (("big", "5Gi"), ("small", "1Gi"))]
    middle = await api.create(volume("middle", "2Gi"))
    made.append(middle)
    pvc = await api.create(claim("data", "1500Mi"))
    binder = PersistentVolumeBinder(Context(api, ControllerSettings()))
    # The watch has brought the claim and the volumes as created (Pending), and none of
    # the binder's own writes yet.
    binder.fresh_volumes.cache = FrozenCache(*made)
    binder.fresh_claims.cache = FrozenCache(pvc)
    for pv in made:
        await binder.sync(f"volume:{pv.metadata.name}")
    await binder.sync("claim:default/data")
    assert (await get_claim(api, "data")).spec.volume_name == "middle"
    bound_to = await get_volume(api, "middle")
    assert bound_to.spec.claim_ref.uid == pvc.metadata.uid


async def test_retain_keeps_a_released_volume_and_its_data_reference(
    api: ApiClient, running: Any
) -> None:
    await api.create(volume("kept", "1Gi", policy="Retain"))
    await api.create(claim("data", "1Gi"))
    await wait_for(lambda: bound(api, "data"), what="the claim bound")
    await api.delete("persistentvolumeclaims", "default", "data")
    await wait_for(lambda: gone(api, "persistentvolumeclaims", "default", "data"), what="gone")

    async def released() -> bool:
        return (await get_volume(api, "kept")).status.phase == "Released"

    await wait_for(released, what="the volume Released")
    pv = await get_volume(api, "kept")
    assert pv.spec.claim_ref.name == "data"
    assert not pv.metadata.deletion_timestamp


async def test_a_hand_made_volume_with_delete_fails_for_want_of_a_deleter(
    api: ApiClient, running: Any
) -> None:
    await api.create(volume("doomed", "1Gi", policy="Delete"))
    await api.create(claim("data", "1Gi"))
    await wait_for(lambda: bound(api, "data"), what="the claim bound")
    await api.delete("persistentvolumeclaims", "default", "data")

    async def failed() -> bool:
        return (await get_volume(api, "doomed")).status.phase == "Failed"

    await wait_for(failed, what="the volume Failed")
    assert "no deletable volume plugin" in (await get_volume(api, "doomed")).status.message


async def test_a_claim_used_by_a_pod_is_deleted_only_after_the_pod(
    api: ApiClient, running: Any
) -> None:
    await api.create(volume("v1", "1Gi"))
    await api.create(claim("data", "1Gi"))
    await wait_for(lambda: bound(api, "data"), what="the claim bound")
    pod = manifest(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "user", "namespace": "default"},
            "spec": {
                "nodeName": "node-a",
                "containers": [{"name": "main", "image": "busybox:1.35"}],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
            },
        }
    )
    await api.create(pod)
    await api.delete("persistentvolumeclaims", "default", "data")
    pvc = await get_claim(api, "data")
    assert pvc.metadata.deletion_timestamp
    # The volume under a claim still in use is protected as well.
    await api.delete("persistentvolumes", "", "v1")
    assert (await get_volume(api, "v1")).metadata.deletion_timestamp
    await api.delete("pods", "default", "user", grace_period_seconds=0)
    await wait_for(
        lambda: gone(api, "persistentvolumeclaims", "default", "data"),
        what="the claim deleted once its pod is gone",
    )
    await wait_for(
        lambda: gone(api, "persistentvolumes", "", "v1"),
        what="the volume deleted once released",
    )


async def test_a_claim_of_the_default_class_is_provisioned_on_the_selected_node(
    api: ApiClient, running: Any
) -> None:
    node = manifest(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a"}},
        }
    )
    await api.create(node)
    await api.create(claim("data", "1Gi", cls=None))
    pvc = await get_claim(api, "data")
    assert pvc.spec.storage_class_name == storage.LOCAL_PATH_CLASS  # DefaultStorageClass
    assert pvc.status.phase == "Pending"
    assert not (await api.list("persistentvolumes")).items  # waits for its first consumer
    pvc.metadata.annotations[storage.SELECTED_NODE] = "node-a"  # the scheduler's PreBind
    await api.update(pvc)
    await wait_for(lambda: bound(api, "data"), what="the claim bound to a provisioned volume")
    pvc = await get_claim(api, "data")
    pv = await get_volume(api, pvc.spec.volume_name)
    assert pv.metadata.name == f"pvc-{pvc.metadata.uid}"
    assert pv.spec.host_path.path == str(running / pv.metadata.name)
    assert pv.spec.host_path.type == "DirectoryOrCreate"
    assert pv.spec.persistent_volume_reclaim_policy == "Delete"
    assert storage.volume_node_names(pv) == ["node-a"]
    assert pv.metadata.annotations[storage.PROVISIONED_BY] == storage.LOCAL_PATH_PROVISIONER

    await api.delete("persistentvolumeclaims", "default", "data")

    async def helper() -> Any:
        try:
            return await api.get("pods", HELPER_NAMESPACE, helper_name(pv.metadata.name))
        except NotFound:
            return None

    found = await wait_for_value(helper, what="the helper pod that removes the directory")
    assert found.spec.node_name == "node-a"
    assert list(found.spec.containers[0].command) == ["rm", "-rf", f"/data/{pv.metadata.name}"]
    assert found.spec.volumes[0].host_path.path == str(running)
    assert (await get_volume(api, pv.metadata.name)).metadata.name  # kept until the data goes
    found.status.phase = "Succeeded"  # the kubelet's report
    await api.update_status(found)
    await wait_for(
        lambda: gone(api, "persistentvolumes", "", pv.metadata.name),
        what="the volume deleted after its directory",
    )
    await wait_for(
        lambda: gone(api, "pods", HELPER_NAMESPACE, found.metadata.name), what="helper removed"
    )


async def wait_for_value(check: Any, *, what: str) -> Any:
    from tests.support.waiting import eventually

    return await eventually(check, timeout=20, what=what)


async def test_a_provisioner_behind_its_own_delete_starts_no_second_helper(
    api: ApiClient,
) -> None:
    node = manifest({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}})
    await api.create(node)
    released = manifest(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": "pvc-old",
                "annotations": {storage.PROVISIONED_BY: storage.LOCAL_PATH_PROVISIONER},
            },
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": storage.LOCAL_PATH_CLASS,
                "hostPath": {"path": "/var/lib/local-path/pvc-old"},
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/hostname",
                                        "operator": "In",
                                        "values": ["node-a"],
                                    }
                                ]
                            }
                        ]
                    }
                },
            },
        }
    )
    await api.create(released)
    pv = await get_volume(api, "pvc-old")
    pv.status.phase = "Released"
    await api.update_status(pv)
    pv = await get_volume(api, "pvc-old")
    provisioner = LocalPathProvisioner(Context(api, ControllerSettings()))
    await provisioner._start_helper(pv, "node-a")
    helper = await fetch(api, core_pb2.Pod, helper_name("pvc-old"), HELPER_NAMESPACE)
    helper.status.phase = "Succeeded"  # the kubelet's report: the directory is gone
    await api.update_status(helper)
    helper = await fetch(api, core_pb2.Pod, helper_name("pvc-old"), HELPER_NAMESPACE)
    lagging: Any = provisioner
    lagging.nodes = FrozenCache(await fetch(api, core_pb2.Node, "node-a", ""))
    lagging.volumes = FrozenCache(pv)
    lagging.pods = FrozenCache(helper)
    await provisioner.sync_volume("pvc-old")
    assert await gone(api, "pods", HELPER_NAMESPACE, helper.metadata.name)
    # The helper's deletion has reached the cache; the volume's has not.
    lagging.pods = FrozenCache()
    await provisioner.sync_volume("pvc-old")
    assert await gone(api, "pods", HELPER_NAMESPACE, helper.metadata.name)

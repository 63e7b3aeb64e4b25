"""The local-path provisioner: a directory on the chosen node for each claim, as k3s's.

For a claim of a class whose provisioner is `tugboat.io/local-path`, once the scheduler
has chosen its first pod's node (the claim's `volume.kubernetes.io/selected-node`), this
controller creates the PersistentVolume `pvc-<claim uid>`: a `hostPath` of type
DirectoryOrCreate at `<dir>/<volume name>` on that node, node affinity to that node
alone, the class's reclaim policy, and a claimRef to the claim, so the binder binds the
two at once. `<dir>` is the class's `nodePath` parameter, else the controller manager's
--local-path-dir (/var/lib/tugboat/local-path).

Why the directory is made and removed the way it is:
- made by the kubelet when the first pod mounts the volume (DirectoryOrCreate), so the
  provisioner needs no access to the node at all;
- removed, when a Released volume's policy is Delete, by a short-lived helper pod bound
  straight to that node (no scheduler), running `rm -rf` on the directory through a
  hostPath mount of its parent, as k3s's provisioner does. Only then is the volume object
  deleted. The helper pod is an ordinary pod: whichever runtime the node's kubelet has
  (a process on the host, or a node container with its own engine) runs it where the
  directory is, and no component imports another. The helper is owned by the volume, so
  the garbage collector removes a helper left behind.

A volume whose node no longer exists is deleted without a helper: its data went with the
node. Claims of a local-path class with Immediate binding have no node to go to; they get
an event and wait, as k3s's provisioner refuses them.
"""

from __future__ import annotations

import posixpath
from typing import Any

import structlog

from client import storage
from client.errors import AlreadyExists, Conflict, NotFound
from client.informer import copy_object
from master.controllers.base import Context
from master.controllers.deleting import delete_exact
from master.controllers.volumes import CLAIM, VOLUME, VolumeController
from proto import core_pb2, meta_pb2, storage_pb2

__all__ = ["HELPER_LABEL", "HELPER_NAMESPACE", "LocalPathProvisioner", "helper_name"]

log = structlog.get_logger("controllers.local_path")

HELPER_NAMESPACE = "kube-system"
HELPER_LABEL = "tugboat.io/local-path-volume"
"""On a helper pod: the volume whose directory it removes."""
NODE_PATH_PARAMETER = "nodePath"
MOUNT = "/data"


def helper_name(volume: str) -> str:
    """The helper pod that removes `volume`'s directory."""
    return f"helper-{volume}"


def volume_name(pvc: core_pb2.PersistentVolumeClaim) -> str:
    """The volume provisioned for a claim, named as Kubernetes' provisioners name theirs."""
    return f"pvc-{pvc.metadata.uid}"


class LocalPathProvisioner(VolumeController):
    """Makes local-path volumes for claims and removes them (data first) when released."""

    name = "local-path-provisioner"
    component = storage.LOCAL_PATH_PROVISIONER

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pods = ctx.informers.get("pods")
        self._deleted: dict[str, str] = {}
        """Volume name -> uid of the volumes this provisioner deleted, until they leave
        the cache: a sync on a cache that still holds one must not start its helper again."""
        self.claims.add_handler(on_add=self._claim, on_update=lambda o, n: self._claim(n))
        self.volumes.add_handler(on_add=self._volume, on_update=lambda o, n: self._volume(n))
        self.pods.add_handler(
            on_add=self._helper, on_update=lambda o, n: self._helper(n), on_delete=self._helper
        )

    def _claim(self, pvc: Any) -> None:
        if not pvc.spec.volume_name:
            self.queue.add(f"{CLAIM}{pvc.metadata.namespace}/{pvc.metadata.name}")

    def _volume(self, pv: Any) -> None:
        if pv.metadata.annotations.get(storage.PROVISIONED_BY) == storage.LOCAL_PATH_PROVISIONER:
            self.queue.add(f"{VOLUME}{pv.metadata.name}")

    def _helper(self, pod: Any) -> None:
        volume = pod.metadata.labels.get(HELPER_LABEL)
        if volume and pod.metadata.namespace == HELPER_NAMESPACE:
            self.queue.add(f"{VOLUME}{volume}")

    # ---- provisioning ----

    def _local_class(self, pvc: core_pb2.PersistentVolumeClaim) -> storage_pb2.StorageClass | None:
        sc = self.claim_class(pvc)
        return sc if sc is not None and sc.provisioner == storage.LOCAL_PATH_PROVISIONER else None

    async def sync_claim(self, key: str) -> None:
        """Make the volume of the claim at `key` if it is unbound and of a local-path class."""
        pvc = self.claims.get(key, copy=False)
        if pvc is None or pvc.spec.volume_name or pvc.metadata.deletion_timestamp:
            return
        sc = self._local_class(pvc)
        if sc is None:
            return
        node = pvc.metadata.annotations.get(storage.SELECTED_NODE, "")
        if not node:
            if sc.volume_binding_mode != "WaitForFirstConsumer":
                await self.events.record(
                    pvc,
                    "Warning",
                    "ProvisioningFailed",
                    f"storageclass {sc.metadata.name!r}: the local-path provisioner needs "
                    "volumeBindingMode WaitForFirstConsumer to know the node",
                )
            return
        name = volume_name(pvc)
        if self.volumes.get(name, copy=False) is not None:
            return
        root = sc.parameters.get(NODE_PATH_PARAMETER) or self.settings.local_path_dir
        pv = self._volume_for(pvc, sc, name, node, posixpath.join(root, name))
        await self.events.record(
            pvc,
            "Normal",
            "Provisioning",
            f'External provisioner is provisioning volume for claim "{key}"',
        )
        try:
            await self.client.create(pv)
        except AlreadyExists:
            return
        log.info("provisioned", key=key, volume=name, node=node, path=pv.spec.host_path.path)
        await self.events.record(
            pvc, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {name}"
        )

    @staticmethod
    def _volume_for(
        pvc: core_pb2.PersistentVolumeClaim,
        sc: storage_pb2.StorageClass,
        name: str,
        node: str,
        path: str,
    ) -> core_pb2.PersistentVolume:
        pv = core_pb2.PersistentVolume(api_version="v1", kind="PersistentVolume")
        pv.metadata.name = name
        pv.metadata.annotations[storage.PROVISIONED_BY] = storage.LOCAL_PATH_PROVISIONER
        spec = pv.spec
        spec.capacity["storage"] = pvc.spec.resources.requests.get("storage", "")
        spec.access_modes.extend(pvc.spec.access_modes)
        spec.persistent_volume_reclaim_policy = sc.reclaim_policy or "Delete"
        spec.storage_class_name = sc.metadata.name
        spec.volume_mode = pvc.spec.volume_mode or "Filesystem"
        spec.mount_options.extend(sc.mount_options)
        spec.host_path.path = path
        spec.host_path.type = "DirectoryOrCreate"
        term = spec.node_affinity.required.node_selector_terms.add()
        term.match_expressions.add(key="kubernetes.io/hostname", operator="In", values=[node])
        ref = spec.claim_ref
        ref.kind, ref.api_version = "PersistentVolumeClaim", "v1"
        ref.namespace, ref.name = pvc.metadata.namespace, pvc.metadata.name
        ref.uid, ref.resource_version = pvc.metadata.uid, pvc.metadata.resource_version
        return pv

    # ---- reclaiming: the data first, then the volume ----

    async def sync_volume(self, name: str) -> None:
        """Remove the data, then the volume `name`, once a local-path volume to be deleted is
        Released or Failed (and a helper its volume outlived)."""
        cached = self.volumes.get(name, copy=False)
        helper = self.pods.get(f"{HELPER_NAMESPACE}/{helper_name(name)}", copy=False)
        if cached is None:
            self._deleted.pop(name, None)
            if helper is not None:
                await delete_exact(self.client, "pods", helper)
            return
        if self._deleted.get(name) == cached.metadata.uid:
            # Deleted by us, its data first; the cache has not heard yet. A helper
            # started now would be bound to a node with nothing left to remove, and
            # outlive the volume.
            if helper is not None and helper.status.phase == "Succeeded":
                await delete_exact(self.client, "pods", helper)
            return
        pv: core_pb2.PersistentVolume = copy_object(cached)
        if (
            pv.metadata.annotations.get(storage.PROVISIONED_BY) != storage.LOCAL_PATH_PROVISIONER
            or pv.spec.persistent_volume_reclaim_policy != "Delete"
            or pv.status.phase not in ("Released", "Failed")
        ):
            return
        nodes = storage.volume_node_names(pv)
        if not nodes or self.nodes.get(nodes[0], copy=False) is None:
            log.info("node gone, volume deleted without its data", key=name)
            await self._delete_volume(pv)
            return
        if helper is None:
            await self._start_helper(pv, nodes[0])
            return
        phase = helper.status.phase
        if phase == "Succeeded":
            await self._delete_volume(pv)
            await delete_exact(self.client, "pods", helper)
            log.info("volume and its directory deleted", key=name, node=nodes[0])
        elif phase == "Failed":
            await self.events.record(
                pv,
                "Warning",
                "VolumeFailedDelete",
                f"helper pod {HELPER_NAMESPACE}/{helper.metadata.name} failed to remove "
                f"{pv.spec.host_path.path} on node {nodes[0]}; retrying",
            )
            await delete_exact(self.client, "pods", helper)
            raise RuntimeError(f"removing the directory of {name} failed")

    async def _delete_volume(self, pv: core_pb2.PersistentVolume) -> None:
        self._deleted[pv.metadata.name] = pv.metadata.uid
        await delete_exact(self.client, "persistentvolumes", pv)

    async def _start_helper(self, pv: core_pb2.PersistentVolume, node: str) -> None:
        path = pv.spec.host_path.path or pv.spec.local.path
        parent, base = posixpath.split(posixpath.normpath(path))
        if not base or not parent:
            raise RuntimeError(f"volume {pv.metadata.name}: no directory to remove in {path!r}")
        pod = core_pb2.Pod(api_version="v1", kind="Pod")
        meta = pod.metadata
        meta.name, meta.namespace = helper_name(pv.metadata.name), HELPER_NAMESPACE
        meta.labels[HELPER_LABEL] = pv.metadata.name
        meta.owner_references.append(
            meta_pb2.OwnerReference(
                api_version="v1",
                kind="PersistentVolume",
                name=pv.metadata.name,
                uid=pv.metadata.uid,
            )
        )
        spec = pod.spec
        spec.node_name = node
        spec.restart_policy = "Never"
        spec.automount_service_account_token = False
        spec.tolerations.append(core_pb2.Toleration(operator="Exists"))
        volume = spec.volumes.add(name="data")
        volume.host_path.path = parent
        volume.host_path.type = "DirectoryOrCreate"
        container = spec.containers.add(
            name="helper",
            image=self.settings.local_path_helper_image,
            image_pull_policy="IfNotPresent",
            command=["rm", "-rf", posixpath.join(MOUNT, base)],
        )
        container.volume_mounts.add(name="data", mount_path=MOUNT)
        try:
            await self.client.create(pod)
        except (AlreadyExists, Conflict, NotFound):
            return
        log.info("helper started", key=pv.metadata.name, node=node, path=path)

"""Storage: kube-state-metrics' kube_persistentvolume_*, kube_persistentvolumeclaim_* and
kube_storageclass_* families, with its label names, so its dashboards and alerts (a claim
Pending for long, a volume Failed) work unchanged."""

from __future__ import annotations

from client.storage import claim_request, volume_capacity
from master.statemetrics.families import Families
from proto import core_pb2, storage_pb2

VOLUME_PHASES = ("Pending", "Available", "Bound", "Released", "Failed")
CLAIM_PHASES = ("Lost", "Bound", "Pending")


def volume_metrics(pv: core_pb2.PersistentVolume, out: Families) -> None:
    """Every kube_persistentvolume_* series of one PersistentVolume."""
    m, spec = pv.metadata, pv.spec
    labels = {"persistentvolume": m.name}
    out.gauge(
        "kube_persistentvolume_info",
        "Information about persistentvolume.",
        {
            **labels,
            "storageclass": spec.storage_class_name,
            "local_path": spec.local.path,
            "local_fs": spec.local.fs_type,
            "host_path": spec.host_path.path,
            "host_path_type": spec.host_path.type,
        },
        1,
    )
    out.one_of(
        "kube_persistentvolume_status_phase",
        "The phase indicates if a volume is available, bound to a claim, or released by a claim.",
        labels,
        "phase",
        VOLUME_PHASES,
        pv.status.phase,
    )
    out.gauge(
        "kube_persistentvolume_capacity_bytes",
        "Persistentvolume capacity in bytes.",
        labels,
        float(volume_capacity(pv)),
    )
    if spec.claim_ref.name:
        out.gauge(
            "kube_persistentvolume_claim_ref",
            "Information about the Persistent Volume Claim Reference.",
            {**labels, "name": spec.claim_ref.name, "claim_namespace": spec.claim_ref.namespace},
            1,
        )
    out.gauge(
        "kube_persistentvolume_volume_mode",
        "Volume Mode information for the PersistentVolume.",
        {**labels, "volumemode": spec.volume_mode or "Filesystem"},
        1,
    )
    out.timestamp(
        "kube_persistentvolume_created",
        "Unix creation timestamp",
        labels,
        m.creation_timestamp,
    )
    out.timestamp(
        "kube_persistentvolume_deletion_timestamp",
        "Unix deletion timestamp",
        labels,
        m.deletion_timestamp,
    )


def claim_metrics(pvc: core_pb2.PersistentVolumeClaim, out: Families) -> None:
    """Every kube_persistentvolumeclaim_* series of one PersistentVolumeClaim."""
    m, spec = pvc.metadata, pvc.spec
    labels = {"namespace": m.namespace, "persistentvolumeclaim": m.name}
    out.gauge(
        "kube_persistentvolumeclaim_info",
        "Information about persistent volume claim.",
        {
            **labels,
            "storageclass": spec.storage_class_name,
            "volumename": spec.volume_name,
            "volumemode": spec.volume_mode or "Filesystem",
        },
        1,
    )
    out.one_of(
        "kube_persistentvolumeclaim_status_phase",
        "The phase the persistent volume claim is currently in.",
        labels,
        "phase",
        CLAIM_PHASES,
        pvc.status.phase,
    )
    out.gauge(
        "kube_persistentvolumeclaim_resource_requests_storage_bytes",
        "The capacity of storage requested by the persistent volume claim.",
        labels,
        float(claim_request(pvc)),
    )
    for mode in spec.access_modes:
        out.gauge(
            "kube_persistentvolumeclaim_access_mode",
            "The access mode(s) specified by the persistent volume claim.",
            {**labels, "access_mode": mode},
            1,
        )
    out.conditions(
        "kube_persistentvolumeclaim_status_condition",
        "Information about status of different conditions of persistent volume claim.",
        labels,
        pvc.status.conditions,
    )
    out.timestamp(
        "kube_persistentvolumeclaim_created",
        "Unix creation timestamp",
        labels,
        m.creation_timestamp,
    )
    out.timestamp(
        "kube_persistentvolumeclaim_deletion_timestamp",
        "Unix deletion timestamp",
        labels,
        m.deletion_timestamp,
    )


def storage_class_metrics(sc: storage_pb2.StorageClass, out: Families) -> None:
    """kube_storageclass_info and kube_storageclass_created of one StorageClass."""
    labels = {"storageclass": sc.metadata.name}
    out.gauge(
        "kube_storageclass_info",
        "Information about storageclass.",
        {
            **labels,
            "provisioner": sc.provisioner,
            "reclaim_policy": sc.reclaim_policy,
            "volume_binding_mode": sc.volume_binding_mode,
        },
        1,
    )
    out.timestamp(
        "kube_storageclass_created",
        "Unix creation timestamp",
        labels,
        sc.metadata.creation_timestamp,
    )

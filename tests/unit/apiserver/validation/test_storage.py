"""Validation of PersistentVolumes, PersistentVolumeClaims and StorageClasses
(validation/storage.py), with Kubernetes' wording, and their defaults."""

from __future__ import annotations

from typing import Any

import pytest

from proto import core_pb2, storage_pb2
from tests.unit.apiserver.validation.cases import (
    DELETE,
    AllowedUpdate,
    Case,
    UpdateCase,
    allowed_params,
    assert_named,
    errors_of,
    invalid_params,
    make_object,
    update_errors,
    update_params,
)

NODE_AFFINITY = {
    "required": {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                   "values": ["node-a"]}]}
        ]
    }
}  # fmt: skip

CASES: list[Case] = [
    ("PersistentVolume", {"spec.accessModes": []}, "spec.accessModes: Required value",
     "a volume without access modes"),
    ("PersistentVolume", {"spec.accessModes": ["ReadWriteOncePod", "ReadWriteOnce"]},
     "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
     "ReadWriteOncePod with another mode"),
    ("PersistentVolume", {"spec.capacity": {}}, "spec.capacity: Required value",
     "a volume without capacity"),
    ("PersistentVolume", {"spec.capacity": {"storage": "1Gi", "cpu": "1"}},
     'spec.capacity: Unsupported value: {"cpu": "1", "storage": "1Gi"}: supported values: '
     '"storage"', "a volume with a capacity other than storage"),
    ("PersistentVolume", {"spec.capacity.storage": "-1Gi"},
     'spec.capacity[storage]: Invalid value: "-1Gi": must be greater than or equal to 0',
     "a negative capacity"),
    ("PersistentVolume", {"spec.hostPath": DELETE}, "spec: Required value: must specify a "
     "volume type", "a volume without a source"),
    ("PersistentVolume", {"spec.local": {"path": "/mnt/a"}},
     "spec.local: Forbidden: may not specify more than 1 volume type", "two sources"),
    ("PersistentVolume", {"spec.hostPath": DELETE, "spec.local": {"path": "/mnt/a"}},
     "spec.nodeAffinity: Required value: Local volume requires node affinity",
     "a local volume without node affinity"),
    ("PersistentVolume", {"spec.hostPath": DELETE, "spec.local": {"path": "mnt/a"},
                          "spec.nodeAffinity": NODE_AFFINITY},
     'spec.local.path: Invalid value: "mnt/a": must be an absolute path', "a relative local path"),
    ("PersistentVolume", {"spec.hostPath.path": "/srv/../etc"},
     "spec.hostPath.path: Invalid value: \"/srv/../etc\": must not contain '..'",
     "a host path climbing up"),
    ("PersistentVolume", {"spec.persistentVolumeReclaimPolicy": "Recycle"},
     'spec.persistentVolumeReclaimPolicy: Unsupported value: "Recycle": supported values: '
     '"Delete", "Retain"', "the Recycle policy Tugboat does not implement"),
    ("PersistentVolume", {"spec.nodeAffinity": {}},
     "spec.nodeAffinity.required: Required value: must specify required node constraints",
     "a node affinity without required terms"),
    ("PersistentVolume", {"spec.volumeMode": "Raw"},
     'spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"',
     "an unknown volume mode"),
    ("PersistentVolumeClaim", {"spec.accessModes": []},
     "spec.accessModes: Required value: at least 1 access mode is required",
     "a claim without access modes"),
    ("PersistentVolumeClaim", {"spec.accessModes": ["Sometimes"]},
     'spec.accessModes: Unsupported value: "Sometimes"', "an unknown access mode"),
    ("PersistentVolumeClaim", {"spec.resources": {}}, "spec.resources[storage]: Required value",
     "a claim without a storage request"),
    ("PersistentVolumeClaim", {"spec.resources.requests.storage": "0"},
     'spec.resources[storage]: Invalid value: "0": must be greater than zero',
     "a claim for nothing"),
    ("PersistentVolumeClaim", {"spec.resources.requests.storage": "big"},
     'spec.resources[storage]: Invalid value: "big": quantities must match',
     "a claim whose request is no quantity"),
    ("PersistentVolumeClaim", {"spec.storageClassName": "Fast_One"},
     'spec.storageClassName: Invalid value: "Fast_One": a lowercase RFC 1123 subdomain',
     "a class name that is no name"),
    ("StorageClass", {"provisioner": DELETE}, "provisioner: Required value",
     "a class without a provisioner"),
    ("StorageClass", {"reclaimPolicy": "Recycle"},
     'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"',
     "a class with the Recycle policy"),
    ("StorageClass", {"volumeBindingMode": "Later"},
     'volumeBindingMode: Unsupported value: "Later"', "an unknown binding mode"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_an_invalid_storage_object_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


@pytest.mark.parametrize("kind", ["PersistentVolume", "PersistentVolumeClaim", "StorageClass"])
def test_the_valid_storage_objects_have_no_errors(kind: str) -> None:
    assert errors_of(kind) == []


def test_a_local_volume_with_node_affinity_is_valid() -> None:
    changes = {"spec.hostPath": DELETE, "spec.local": {"path": "/mnt/a"}}
    assert errors_of("PersistentVolume", {**changes, "spec.nodeAffinity": NODE_AFFINITY}) == []


BOUND = {"status": {"phase": "Bound"}, "spec.volumeName": "pv1"}

UPDATES: list[UpdateCase] = [
    ("PersistentVolumeClaim", BOUND, {"spec.accessModes": ["ReadWriteMany"]},
     "spec: Forbidden: spec is immutable after creation except resources.requests",
     "a bound claim's access modes"),
    ("PersistentVolumeClaim", BOUND, {"spec.volumeName": "pv2"},
     "spec: Forbidden: spec is immutable after creation", "a bound claim moved to another volume"),
    ("PersistentVolumeClaim", BOUND, {"spec.resources.requests.storage": "512Mi"},
     "spec.resources.requests.storage: Forbidden: field can not be less than previous value",
     "a bound claim shrunk"),
    ("PersistentVolume", None, {"spec.hostPath.path": "/srv/other"},
     "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after "
     "creation", "a volume's source"),
    ("StorageClass", None, {"provisioner": "example.com/other"},
     "provisioner: Forbidden: updates to provisioner are forbidden.", "a class's provisioner"),
    ("StorageClass", None, {"parameters": {"nodePath": "/x"}},
     "parameters: Forbidden: updates to parameters are forbidden.", "a class's parameters"),
    ("StorageClass", None, {"reclaimPolicy": "Retain"},
     "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.", "a class's policy"),
    ("StorageClass", None, {"volumeBindingMode": "WaitForFirstConsumer"},
     'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable',
     "a class's binding mode"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "old_changes", "new_changes", "expected"), update_params(UPDATES))
def test_a_forbidden_storage_update_gets_an_error_naming_the_field(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    assert_named(update_errors(kind, old_changes, new_changes), expected)


ALLOWED: list[AllowedUpdate] = [
    ("PersistentVolumeClaim", BOUND, {"spec.resources.requests.storage": "2Gi"},
     "a bound claim grown"),
    ("PersistentVolumeClaim", None, {"spec.volumeName": "pv1"}, "an unbound claim bound once"),
    ("PersistentVolumeClaim", None, {"spec.storageClassName": "fast"},
     "a claim without a class given one"),
    ("PersistentVolume", None, {"spec.claimRef": {"namespace": "default", "name": "data"}},
     "a volume given a claim"),
    ("StorageClass", None, {"allowVolumeExpansion": True}, "a class allowing expansion"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "old_changes", "new_changes"), allowed_params(ALLOWED))
def test_an_allowed_storage_update_has_no_errors(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any]
) -> None:
    assert update_errors(kind, old_changes, new_changes) == []


def test_defaults_are_kubernetes_ones() -> None:
    _, pv = make_object("PersistentVolume")
    assert isinstance(pv, core_pb2.PersistentVolume)
    assert pv.spec.persistent_volume_reclaim_policy == "Retain"
    assert pv.spec.volume_mode == "Filesystem"
    _, pvc = make_object("PersistentVolumeClaim")
    assert isinstance(pvc, core_pb2.PersistentVolumeClaim)
    assert pvc.spec.volume_mode == "Filesystem"
    assert not pvc.spec.HasField("storage_class_name")  # admission's, from the default class
    _, sc = make_object("StorageClass")
    assert isinstance(sc, storage_pb2.StorageClass)
    assert (sc.reclaim_policy, sc.volume_binding_mode) == ("Delete", "Immediate")

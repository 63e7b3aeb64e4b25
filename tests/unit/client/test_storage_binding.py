"""Which volume a claim binds to (client/storage.py's find_matching_volume), as a table."""

from __future__ import annotations

from typing import Any

import pytest

from client.codec import from_dict
from client.storage import find_matching_volume
from proto import core_pb2


def pv(name: str, size: str, **spec: Any) -> core_pb2.PersistentVolume:
    status = spec.pop("phase", "Available")
    body = {
        "capacity": {"storage": size},
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "manual",
        "hostPath": {"path": f"/srv/{name}"},
        **spec,
    }
    return from_dict(
        core_pb2.PersistentVolume,
        {"metadata": {"name": name}, "spec": body, "status": {"phase": status}},
    )


def pvc(size: str = "1Gi", **spec: Any) -> core_pb2.PersistentVolumeClaim:
    body = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
        "storageClassName": "manual",
        **spec,
    }
    return from_dict(
        core_pb2.PersistentVolumeClaim,
        {"metadata": {"name": "data", "namespace": "default", "uid": "u1"}, "spec": body},
    )


CASES = [
    pytest.param(pvc("1500Mi"), [pv("a", "5Gi"), pv("b", "1Gi"), pv("c", "2Gi")], "c",
                 id="the smallest volume at least as large"),
    pytest.param(pvc("10Gi"), [pv("a", "5Gi")], None, id="none large enough"),
    pytest.param(pvc(accessModes=["ReadWriteMany"]), [pv("a", "1Gi")], None,
                 id="a volume lacking an access mode"),
    pytest.param(pvc(accessModes=["ReadOnlyMany"]),
                 [pv("a", "1Gi", accessModes=["ReadWriteOnce", "ReadOnlyMany"])], "a",
                 id="a volume offering more access modes"),
    pytest.param(pvc(storageClassName="fast"), [pv("a", "1Gi")], None, id="another class"),
    pytest.param(pvc(storageClassName=""), [pv("a", "1Gi", storageClassName="")], "a",
                 id="no class asks for a volume of no class"),
    pytest.param(pvc(), [pv("a", "1Gi", phase="Released")], None, id="a released volume"),
    pytest.param(pvc(), [pv("a", "1Gi", phase="Pending")], None, id="a volume not yet seen"),
    pytest.param(pvc(), [pv("a", "1Gi", claimRef={"namespace": "default", "name": "other"})],
                 None, id="a volume claimed by another"),
    pytest.param(pvc(), [pv("a", "1Gi"), pv("b", "5Gi", phase="Bound",
                 claimRef={"namespace": "default", "name": "data", "uid": "u1"})], "b",
                 id="a volume pre-bound to the claim wins over a better fit"),
    pytest.param(pvc(selector={"matchLabels": {"tier": "db"}}),
                 [pv("a", "1Gi"), from_dict(core_pb2.PersistentVolume, {
                     "metadata": {"name": "b", "labels": {"tier": "db"}},
                     "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                              "storageClassName": "manual", "hostPath": {"path": "/b"}},
                     "status": {"phase": "Available"}})], "b",
                 id="the claim's selector"),
    pytest.param(pvc(volumeMode="Block"), [pv("a", "1Gi")], None, id="another volume mode"),
]  # fmt: skip


@pytest.mark.parametrize(("claim", "volumes", "chosen"), CASES)
def test_a_claim_binds_to_the_volume_kubernetes_would_choose(
    claim: core_pb2.PersistentVolumeClaim,
    volumes: list[core_pb2.PersistentVolume],
    chosen: str | None,
) -> None:
    found = find_matching_volume(claim, volumes)
    assert (found.metadata.name if found else None) == chosen


def test_a_volume_whose_node_does_not_fit_is_passed_over() -> None:
    volumes = [pv("here", "1Gi"), pv("there", "1Gi")]
    found = find_matching_volume(pvc(), volumes, node_fits=lambda v: True)
    assert found is not None
    affine = [pv("a", "1Gi", nodeAffinity={"required": {"nodeSelectorTerms": [{}]}})]
    assert find_matching_volume(pvc(), affine, node_fits=lambda v: False) is None
    assert find_matching_volume(pvc(), volumes, taken=["here", "there"]) is None

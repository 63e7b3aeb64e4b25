"""The real kubectl with a pod of a generic ephemeral volume: created from the docs' own
manifest, read back, described (kubectl reads the pod in Kubernetes' protobuf, so the
wire table must know EphemeralVolumeSource), and refused in Kubernetes' words when its
claim template sets what it may not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.apiserver.kubectl import KUBECTL

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

DOCS_POD = (
    Path(__file__).resolve().parents[3] / "examples" / "kubernetes-docs" / "ephemeral-volume.yaml"
)


async def test_kubectl_creates_reads_and_describes_the_docs_pod(kubectl):
    await kubectl.ok("create", "-f", str(DOCS_POD))
    live = json.loads(await kubectl.ok("get", "pod", "my-app", "-o", "json"))
    (volume,) = live["spec"]["volumes"]
    template = volume["ephemeral"]["volumeClaimTemplate"]
    assert template["metadata"] == {"labels": {"type": "my-frontend-volume"}}
    assert template["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "scratch-storage-class",
        "resources": {"requests": {"storage": "1Gi"}},
        "volumeMode": "Filesystem",  # defaulted as a claim's
    }
    described = await kubectl.ok("describe", "pod", "my-app")
    lines = [line.strip() for line in described.splitlines()]
    assert (
        "Type:          EphemeralVolume (an inline specification for a volume that gets created "
        "and deleted with the pod)"
    ) in lines
    assert "StorageClass:  scratch-storage-class" in lines
    assert ["Labels:", "type=my-frontend-volume"] in [line.split() for line in lines]


async def test_a_claim_template_naming_its_claim_is_refused_by_field(kubectl):
    pod = DOCS_POD.read_text().replace(
        "          metadata:\n", "          metadata:\n            name: mine\n"
    )
    ran = await kubectl("create", "-f", "-", stdin=pod)
    assert ran.code != 0
    assert (
        "spec.volumes[0].ephemeral.volumeClaimTemplate.metadata.name: Forbidden: cannot be set "
        "for an ephemeral volume"
    ) in ran.err, ran.err

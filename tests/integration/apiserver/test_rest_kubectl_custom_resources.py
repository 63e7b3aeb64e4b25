"""The real kubectl against custom resources: it applies a CRD and an object of its kind,
finds the kind by discovery (plural, short name), prints the CRD's printer columns from
the server's Table, explains a bad object, scales one through `/scale`, and deletes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.apiserver.kubectl import KUBECTL

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "operator"
CRD = (EXAMPLE / "crd.yaml").read_text()
WEBSITE = (EXAMPLE / "website.yaml").read_text()


async def test_kubectl_applies_a_crd_then_its_objects_and_prints_their_columns(kubectl):
    out = await kubectl.ok("apply", "-f", "-", stdin=CRD)
    assert (
        out.strip()
        == "customresourcedefinition.apiextensions.k8s.io/websites.examples.tugboat.io created"
    )
    out = await kubectl.ok("apply", "-f", "-", stdin=WEBSITE)
    assert out.strip() == "website.examples.tugboat.io/hello created"
    out = await kubectl.ok("apply", "-f", "-", stdin=WEBSITE)
    assert out.strip() == "website.examples.tugboat.io/hello unchanged"
    edited = WEBSITE.replace("replicas: 2", "replicas: 3")
    out = await kubectl.ok("apply", "-f", "-", stdin=edited)
    assert out.strip() == "website.examples.tugboat.io/hello configured"
    await kubectl.ok("apply", "-f", "-", stdin=WEBSITE)
    lines = (await kubectl.ok("get", "websites")).splitlines()
    assert lines[0].split() == ["NAME", "IMAGE", "REPLICAS", "READY", "AGE"]
    assert lines[1].split()[:3] == ["hello", "busybox:1.35", "2"]
    ready = slice(lines[0].index("READY"), lines[0].index("AGE"))
    assert lines[1][ready].strip() == ""  # no status yet: a blank cell
    wide = (await kubectl.ok("get", "ws", "-o", "wide")).splitlines()
    assert wide[0].split() == ["NAME", "IMAGE", "REPLICAS", "READY", "URL", "AGE"]
    live = json.loads(await kubectl.ok("get", "website", "hello", "-o", "json"))
    assert live["spec"] == {"image": "busybox:1.35", "replicas": 2, "port": 80, "tier": "frontend"}
    resources = await kubectl.ok("api-resources", "--api-group", "examples.tugboat.io")
    assert "websites" in resources and "ws" in resources


async def test_kubectl_shows_the_field_a_bad_custom_object_gets_wrong(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=CRD)
    ran = await kubectl("apply", "-f", "-", stdin=WEBSITE.replace("replicas: 2", "replicas: 99"))
    assert ran.code != 0
    assert (
        "spec.replicas: Invalid value: 99: spec.replicas in body should be less than or equal "
        "to 20" in ran.err
    )


async def test_kubectl_scales_and_deletes_a_custom_object(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=CRD)
    await kubectl.ok("apply", "-f", "-", stdin=WEBSITE)
    out = await kubectl.ok("scale", "website", "hello", "--replicas", "4")
    assert out.strip() == "website.examples.tugboat.io/hello scaled"
    live = json.loads(await kubectl.ok("get", "ws", "hello", "-o", "json"))
    assert live["spec"]["replicas"] == 4
    out = await kubectl.ok("delete", "website", "hello")
    assert out.strip() == 'website.examples.tugboat.io "hello" deleted'
    ran = await kubectl("get", "website", "hello")
    assert 'websites.examples.tugboat.io "hello" not found' in ran.err


async def test_kubectl_explains_a_custom_kind_from_its_crds_schema(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=CRD)
    out = await kubectl.ok("explain", "website.spec")
    assert "GROUP:      examples.tugboat.io" in out
    assert "KIND:       Website" in out
    fields = {line.split()[0] for line in out.split("FIELDS:")[1].splitlines() if line.strip()}
    assert {"image", "replicas", "port", "tier"} <= fields
    # The object's metadata is the real ObjectMeta, as on a built-in kind.
    assert "uid" in await kubectl.ok("explain", "website.metadata")

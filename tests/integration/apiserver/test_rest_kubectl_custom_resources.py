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


SHIRT_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: shirts.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: shirts, singular: shirt, kind: Shirt}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              color: {type: string}
              size: {type: string}
              sizes: {type: array, items: {type: string}}
    selectableFields:
    - jsonPath: .spec.color
    - jsonPath: .spec.size
"""
SHIRTS = "---".join(
    f"""
apiVersion: stable.example.com/v1
kind: Shirt
metadata: {{name: {name}}}
spec: {{color: {color}, size: {size}}}
"""
    for name, color, size in (("example1", "blue", "S"), ("example2", "blue", "M"),
                              ("example3", "green", "M"))
)  # fmt: skip


async def test_the_docs_shirts_are_listed_by_their_selectable_fields(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=SHIRT_CRD)
    await kubectl.ok("apply", "-f", "-", stdin=SHIRTS)

    async def names(selector: str) -> list[str]:
        out = await kubectl.ok("get", "shirts", "--field-selector", selector, "-o", "name")
        return sorted(line.rpartition("/")[2] for line in out.split())

    assert await names("spec.color=blue") == ["example1", "example2"]
    assert await names("spec.color=blue,spec.size=M") == ["example2"]
    assert await names("spec.color!=blue") == ["example3"]
    assert await names("metadata.name=example3") == ["example3"]
    refused = await kubectl("get", "shirts", "--field-selector", "spec.sizes=S")
    assert refused.code == 1 and 'field label not supported: "spec.sizes"' in refused.err


async def test_selectable_fields_must_name_a_scalar_field_of_the_schema(kubectl):
    bad = SHIRT_CRD.replace(
        "- jsonPath: .spec.size", "- jsonPath: .spec.sizes\n    - jsonPath: .spec.nope"
    )
    refused = await kubectl("apply", "-f", "-", stdin=bad)
    assert refused.code == 1
    assert (
        'spec.versions[0].selectableFields[1].jsonPath: Invalid value: ".spec.sizes": must '
        "point to a field of type string, boolean or integer"
    ) in refused.err, refused.err
    assert (
        'spec.versions[0].selectableFields[2].jsonPath: Invalid value: ".spec.nope": is an '
        "invalid path"
    ) in refused.err

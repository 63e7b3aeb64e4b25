import json

from client.kinds import KINDS
from master.apiserver.rest import openapi
from master.apiserver.rest.groups import (
    aggregated,
    api_group_list,
    resource_list,
    wants_aggregated,
)


def test_every_kind_is_discovered_in_its_group_version_with_its_subresources():
    for kind in KINDS:
        group, _, version = kind.api_version.rpartition("/")
        listed = resource_list(group, version)
        assert listed is not None
        names = {r["name"] for r in listed["resources"]}
        assert kind.resource in names
        assert (f"{kind.resource}/status" in names) == kind.has_status
    apps = resource_list("apps", "v1")
    assert apps is not None
    assert "deployments/scale" in {r["name"] for r in apps["resources"]}
    assert resource_list("nope", "v1") is None
    assert "apps" in {g["name"] for g in api_group_list()["groups"]}


def test_aggregated_discovery_is_chosen_only_when_asked_for_first():
    v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert wants_aggregated([f"{v2},application/json"])
    assert not wants_aggregated(["application/json, */*"])
    core = aggregated(core=True)
    (item,) = core["items"]
    assert item["metadata"]["name"] == ""
    pods = next(r for r in item["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and "all" in pods["categories"]


def test_every_patch_operation_names_its_kind_and_takes_field_validation():
    for path, text in openapi.documents().items():
        doc = json.loads(text)
        patches = [item["patch"] for item in doc["paths"].values() if "patch" in item]
        assert patches, path
        for op in patches:
            assert op["x-kubernetes-group-version-kind"]["kind"]
            assert "fieldValidation" in {p["name"] for p in op["parameters"]}


def test_the_schema_carries_merge_keys_and_only_stored_fields():
    doc = json.loads(openapi.documents()["api/v1"])
    schemas = doc["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "Pod"}]
    spec_ref = pod["properties"]["spec"]["allOf"][0]["$ref"].rpartition("/")[2]
    containers = schemas[spec_ref]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert "replicas" not in schemas[spec_ref]["properties"]
    index = openapi.index()["paths"]
    assert index["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")


def test_certificate_requests_are_discovered_with_approval_and_extra_is_a_map_of_lists():
    listed = resource_list("certificates.k8s.io", "v1")
    assert listed is not None
    names = [r["name"] for r in listed["resources"]]
    assert names[1:] == [
        "certificatesigningrequests/status",
        "certificatesigningrequests/approval",
    ]
    doc = json.loads(openapi.documents()["apis/certificates.k8s.io/v1"])
    schemas = doc["components"]["schemas"]
    csr = schemas["io.k8s.api.certificates.v1.CertificateSigningRequest"]
    spec = schemas[csr["properties"]["spec"]["allOf"][0]["$ref"].rpartition("/")[2]]
    assert spec["properties"]["extra"] == {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    }

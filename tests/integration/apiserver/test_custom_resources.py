"""CustomResourceDefinitions on a real API server and etcd: a CRD created is served at once
over REST (kubectl's paths) and gRPC, its objects are pruned, defaulted and validated by
its schema, watched, scaled and given a status; deleting the CRD deletes its objects and
stops serving them."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from client import customkinds, kinds
from client.api import ApiClient, ClientOptions
from client.codec import from_dict, to_dict
from client.errors import Forbidden, Invalid
from master.apiserver.rest.groups import AGGREGATED
from master.apiserver.server import ApiServer
from proto import apiextensions_pb2
from tests.support.apiserver import running_apiserver
from tests.support.waiting import eventually

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "operator"
CRD: dict[str, Any] = yaml.safe_load((EXAMPLE / "crd.yaml").read_text())
BASE = "/apis/examples.tugboat.io/v1/namespaces/default/websites"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def website(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "examples.tugboat.io/v1",
        "kind": "Website",
        "metadata": {"name": name},
        "spec": {"image": "busybox:1.35", **spec},
    }


class Rest:
    """JSON over the API server's HTTP port."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        async with self.session.request(
            method,
            self.base + path,
            data=data,
            headers={"Content-Type": content_type, "Accept": accept},
        ) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None

    async def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, answer = await self.call(method, path, body, **kw)
        assert status < 300, (status, answer)
        return answer


@pytest.fixture
async def rest(apiserver: ApiServer) -> AsyncIterator[Rest]:
    assert apiserver.status is not None
    async with aiohttp.ClientSession() as session:
        yield Rest(session, f"http://127.0.0.1:{apiserver.status.port}")


@pytest.fixture
async def served(rest: Rest) -> dict[str, Any]:
    """The example Website CRD, created."""
    return await rest.ok("POST", CRDS, CRD)  # type: ignore[no-any-return]


async def test_a_created_crd_is_established_and_its_kind_served_at_once(rest: Rest, served):
    assert served["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    conditions = {c["type"]: c["status"] for c in served["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert served["status"]["acceptedNames"]["kind"] == "Website"
    assert served["status"]["storedVersions"] == ["v1"]
    created = await rest.ok("POST", BASE, website("hello", replicas=2))
    assert created["apiVersion"] == "examples.tugboat.io/v1"
    assert created["metadata"]["namespace"] == "default"
    # Defaults from the schema; replicas as given.
    assert created["spec"] == {
        "image": "busybox:1.35",
        "replicas": 2,
        "port": 80,
        "tier": "frontend",
    }
    got = await rest.ok("GET", f"{BASE}/hello")
    assert got["metadata"]["uid"] == created["metadata"]["uid"]


async def test_discovery_lists_the_custom_resource_with_its_verbs_and_subresources(
    rest: Rest, served
):
    resources = await rest.ok("GET", "/apis/examples.tugboat.io/v1")
    names = {r["name"]: r for r in resources["resources"]}
    assert names["websites"]["kind"] == "Website"
    assert names["websites"]["shortNames"] == ["ws"]
    assert names["websites"]["categories"] == ["all"]
    assert names["websites"]["namespaced"] is True
    assert {"websites/status", "websites/scale"} <= set(names)
    groups = await rest.ok("GET", "/apis")
    assert "examples.tugboat.io" in {g["name"] for g in groups["groups"]}


@pytest.fixture
async def stalled(apiserver: ApiServer) -> None:
    """The API server's CRD watch stopped: a new CRD's watch event never arrives."""
    following = apiserver._following_crds
    assert following is not None
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following


async def test_discovery_of_a_crd_whose_watch_event_has_not_arrived_reads_the_crds(
    stalled: None, rest: Rest
):
    await rest.ok("POST", CRDS, CRD)
    resources = await rest.ok("GET", "/apis/examples.tugboat.io/v1")
    assert next(r["name"] for r in resources["resources"]) == "websites"
    status, _ = await rest.call("GET", "/apis/examples.tugboat.io/v2")
    assert status == 404


async def test_the_group_list_names_an_established_crd_whose_watch_event_has_not_arrived(
    stalled: None, rest: Rest
):
    crd = await rest.ok("POST", CRDS, CRD)
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"
    # What kubectl reads to map a kind after `kubectl wait --for=condition=Established`.
    groups = await rest.ok("GET", "/apis")
    assert "examples.tugboat.io" in {g["name"] for g in groups["groups"]}
    aggregated = await rest.ok("GET", "/apis", accept=AGGREGATED)
    assert "examples.tugboat.io" in {g["metadata"]["name"] for g in aggregated["items"]}


async def test_unknown_fields_are_pruned_and_a_bad_field_is_named(rest: Rest, served):
    body = website("pruned")
    body["spec"]["color"] = "red"
    body["extra"] = {"a": 1}
    created = await rest.ok("POST", BASE, body)
    assert "color" not in created["spec"]
    assert "extra" not in created
    status, answer = await rest.call("POST", BASE, website("bad", replicas="three"))
    assert status == 422
    assert answer["message"] == (
        'Website.examples.tugboat.io "bad" is invalid: spec.replicas: Invalid value: '
        '"string": spec.replicas in body must be of type integer: "string"'
    )
    assert answer["details"]["causes"][0]["field"] == "spec.replicas"
    status, answer = await rest.call("GET", f"{BASE}/bad")
    assert status == 404  # nothing was written


async def test_update_merge_patch_json_patch_and_apply_of_a_custom_object(rest: Rest, served):
    created = await rest.ok("POST", BASE, website("edit"))
    updated = copy.deepcopy(created)
    updated["spec"]["image"] = "busybox:1.36"
    updated = await rest.ok("PUT", f"{BASE}/edit", updated)
    assert updated["spec"]["image"] == "busybox:1.36"
    assert updated["metadata"]["generation"] == 2
    merged = await rest.ok(
        "PATCH",
        f"{BASE}/edit",
        {"spec": {"replicas": 3}},
        content_type="application/merge-patch+json",
    )
    assert merged["spec"]["replicas"] == 3
    patched = await rest.ok(
        "PATCH",
        f"{BASE}/edit",
        [{"op": "replace", "path": "/spec/tier", "value": "backend"}],
        content_type="application/json-patch+json",
    )
    assert patched["spec"]["tier"] == "backend"
    status, answer = await rest.call(
        "PATCH",
        f"{BASE}/edit",
        {"spec": {"tier": "middle"}},
        content_type="application/merge-patch+json",
    )
    assert status == 422
    assert (
        'spec.tier: Unsupported value: "middle": supported values: "frontend", "backend"'
        in (answer["message"])
    )
    status, _ = await rest.call(
        "PATCH",
        f"{BASE}/edit",
        {"spec": {"replicas": 1}},
        content_type="application/strategic-merge-patch+json",
    )
    assert status == 415  # as Kubernetes: custom kinds have no merge keys
    applied = await rest.ok(
        "PATCH",
        f"{BASE}/applied?fieldManager=test",
        website("applied", replicas=4),
        content_type="application/apply-patch+yaml",
    )
    assert applied["spec"]["replicas"] == 4


async def test_the_status_subresource_alone_writes_the_status(rest: Rest, served):
    created = await rest.ok("POST", BASE, {**website("st"), "status": {"replicas": 9}})
    assert "status" not in created  # dropped on create, as Kubernetes does
    with_status = {**created, "status": {"replicas": 2, "readyReplicas": 1}}
    written = await rest.ok("PUT", f"{BASE}/st/status", with_status)
    assert written["status"] == {"replicas": 2, "readyReplicas": 1}
    assert written["metadata"]["generation"] == 1
    # A main-resource update keeps the status it did not mean to change.
    written["status"] = {"replicas": 7}
    written["spec"]["replicas"] = 5
    after = await rest.ok("PUT", f"{BASE}/st", written)
    assert after["status"] == {"replicas": 2, "readyReplicas": 1}
    assert after["spec"]["replicas"] == 5
    status, answer = await rest.call(
        "PATCH",
        f"{BASE}/st/status",
        {"status": {"replicas": "two"}},
        content_type="application/merge-patch+json",
    )
    assert status == 422
    assert "status.replicas: Invalid value" in answer["message"]


async def test_the_scale_subresource_reads_and_writes_the_crds_paths(rest: Rest, served):
    await rest.ok("POST", BASE, website("sc", replicas=2))
    got = await rest.ok(
        "PUT",
        f"{BASE}/sc/status",
        {
            **(await rest.ok("GET", f"{BASE}/sc")),
            "status": {"replicas": 2, "selector": "app=sc"},
        },
    )
    assert got["status"]["selector"] == "app=sc"
    scale = await rest.ok("GET", f"{BASE}/sc/scale")
    assert scale["kind"] == "Scale"
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"] == {"replicas": 2, "selector": "app=sc"}
    scale["spec"]["replicas"] = 5
    written = await rest.ok("PUT", f"{BASE}/sc/scale", scale)
    assert written["spec"]["replicas"] == 5
    assert (await rest.ok("GET", f"{BASE}/sc"))["spec"]["replicas"] == 5
    status, answer = await rest.call(
        "PATCH",
        f"{BASE}/sc/scale",
        {"spec": {"replicas": 50}},
        content_type="application/merge-patch+json",
    )
    assert status == 422
    assert "spec.replicas in body should be less than or equal to 20" in answer["message"]


async def test_a_table_has_the_crds_printer_columns(rest: Rest, served):
    await rest.ok("POST", BASE, website("tab", replicas=3))
    table = await rest.ok("GET", BASE, accept=TABLE)
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == ["Name", "Image", "Replicas", "Ready", "URL", "Age"]
    assert [c["priority"] for c in table["columnDefinitions"]] == [0, 0, 0, 0, 1, 0]
    (row,) = table["rows"]
    assert row["cells"][:5] == ["tab", "busybox:1.35", 3, None, None]


async def test_label_selected_lists_and_a_watch_of_custom_objects(rest: Rest, served):
    first = await rest.ok(
        "POST", BASE, {**website("a"), "metadata": {"name": "a", "labels": {"tier": "web"}}}
    )
    await rest.ok("POST", BASE, website("b"))
    listed = await rest.ok("GET", f"{BASE}?labelSelector=tier%3Dweb")
    assert listed["kind"] == "WebsiteList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a"]
    version = first["metadata"]["resourceVersion"]
    events: list[tuple[str, str]] = []
    async with rest.session.get(
        f"{rest.base}{BASE}?watch=1&resourceVersion={version}&timeoutSeconds=10"
    ) as resp:
        await rest.ok("DELETE", f"{BASE}/a")
        async for line in resp.content:
            event = json.loads(line)
            events.append((event["type"], event["object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                break
    assert events == [("ADDED", "b"), ("DELETED", "a")]


async def test_custom_objects_over_grpc_with_the_client(apiserver: ApiServer, rest: Rest, served):
    async with ApiClient([apiserver.endpoint]) as api:
        found = await customkinds.load(api)
        assert [k.kind for k in found] == ["Website"]
        obj = from_dict(apiextensions_pb2.CustomObject, website("grpc", replicas=1))
        obj.metadata.namespace = "default"
        created = await api.create(obj)
        assert to_dict(created)["spec"]["port"] == 80
        listed = await api.list("websites", "default")
        assert [o.metadata.name for o in listed.items] == ["grpc"]
        with pytest.raises(Invalid, match=r"spec.image: Required value"):
            bad = from_dict(apiextensions_pb2.CustomObject, website("nope"))
            json_content = json.loads(bad.content.json)
            del json_content["spec"]["image"]
            bad.content.json = json.dumps(json_content)
            bad.metadata.namespace = "default"
            await api.create(bad)


async def test_a_cluster_scoped_crd_with_two_versions_serves_both(rest: Rest):
    crd = copy.deepcopy(CRD)
    crd["metadata"]["name"] = "sites.examples.tugboat.io"
    crd["spec"]["scope"] = "Cluster"
    crd["spec"]["names"] = {"plural": "sites", "kind": "Site"}
    old = copy.deepcopy(crd["spec"]["versions"][0])
    old["name"], old["storage"] = "v1beta1", False
    crd["spec"]["versions"].append(old)
    await rest.ok("POST", CRDS, crd)
    path = "/apis/examples.tugboat.io/v1beta1/sites"
    created = await rest.ok(
        "POST", path, {**website("s1"), "apiVersion": "examples.tugboat.io/v1beta1", "kind": "Site"}
    )
    assert created["apiVersion"] == "examples.tugboat.io/v1beta1"
    assert "namespace" not in created["metadata"]
    as_v1 = await rest.ok("GET", "/apis/examples.tugboat.io/v1/sites/s1")
    assert as_v1["apiVersion"] == "examples.tugboat.io/v1"
    listed = await rest.ok("GET", path)
    assert listed["apiVersion"] == "examples.tugboat.io/v1beta1"
    assert listed["items"][0]["apiVersion"] == "examples.tugboat.io/v1beta1"
    status, _ = await rest.call("GET", "/apis/examples.tugboat.io/v1/namespaces/default/sites")
    assert status == 404


async def test_deleting_the_crd_deletes_its_objects_and_stops_serving_them(rest: Rest, served):
    await rest.ok("POST", BASE, website("doomed"))
    await rest.ok("DELETE", f"{CRDS}/websites.examples.tugboat.io")

    async def gone() -> bool:
        status, _ = await rest.call("GET", f"{CRDS}/websites.examples.tugboat.io")
        return status == 404

    await eventually(gone, timeout=15, what="the CRD to be released by its cleanup")
    status, _ = await rest.call("GET", BASE)
    assert status == 404
    with pytest.raises(kinds.UnknownKindError):
        kinds.by_resource("websites")
    # Created again, it starts empty: the objects went with it.
    await rest.ok("POST", CRDS, CRD)
    listed = await rest.ok("GET", BASE)
    assert listed["items"] == []


async def test_a_bad_crd_is_refused_naming_the_field(rest: Rest):
    crd = copy.deepcopy(CRD)
    crd["metadata"]["name"] = "websites.wrong.io"
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["type"] = "array"
    status, answer = await rest.call("POST", CRDS, crd)
    assert status == 422
    assert (
        'metadata.name: Invalid value: "websites.wrong.io": '
        'must be spec.names.plural+"."+spec.group' in answer["message"]
    )
    assert (
        'spec.versions[0].schema.openAPIV3Schema.type: Invalid value: "array": must be '
        in (answer["message"])
    )
    status, _ = await rest.call("GET", f"{CRDS}/websites.wrong.io")
    assert status == 404  # nothing was written


async def test_a_crd_written_to_one_server_is_served_at_once_by_another(apiserver_factory):
    first = await apiserver_factory.start()
    second = apiserver_factory.start_process(name="crd-second")  # its own kind table
    assert first.status is not None
    async with aiohttp.ClientSession() as session:
        one = Rest(session, f"http://127.0.0.1:{first.status.port}")
        other = Rest(session, f"http://127.0.0.1:{second.http_port}")
        await one.ok("POST", CRDS, CRD)
        # No wait: the other server reads the CRDs when a path names an unknown resource.
        created = await other.ok("POST", BASE, website("elsewhere"))
        assert created["spec"]["port"] == 80
        listed = await one.ok("GET", BASE)
        assert [i["metadata"]["name"] for i in listed["items"]] == ["elsewhere"]
        discovered = await other.ok("GET", "/apis/examples.tugboat.io/v1")
        assert next(r["name"] for r in discovered["resources"]) == "websites"


async def test_custom_resources_are_authorized_by_group_and_resource(etcd_clean, tmp_path):
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,admin,"system:masters"\neddie-token,eddie,eddie,""\n')
    async with running_apiserver(
        etcd_clean.endpoints, token_auth_file=str(tokens), authorization_modes=("RBAC",)
    ) as server:
        admin = ApiClient([server.endpoint], ClientOptions(token="admin-token", max_retries=1))
        eddie = ApiClient([server.endpoint], ClientOptions(token="eddie-token", max_retries=1))
        try:
            await admin.create(from_dict(apiextensions_pb2.CustomResourceDefinition, CRD))
            await customkinds.load(admin)
            role = {
                "metadata": {"name": "site-editor", "namespace": "default"},
                "rules": [
                    {
                        "apiGroups": ["examples.tugboat.io"],
                        "resources": ["websites"],
                        "verbs": ["create", "get", "list"],
                    }
                ],
            }
            binding = {
                "metadata": {"name": "eddie-sites", "namespace": "default"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "site-editor",
                },
                "subjects": [
                    {"kind": "User", "name": "eddie", "apiGroup": "rbac.authorization.k8s.io"}
                ],
            }
            for resource, body in (("roles", role), ("rolebindings", binding)):
                kind = kinds.by_resource(resource)
                rbac: Any = from_dict(
                    kind.message, {"apiVersion": kind.api_version, "kind": kind.kind, **body}
                )
                await admin.create(rbac)
            site = from_dict(apiextensions_pb2.CustomObject, website("mine"))
            site.metadata.namespace = "default"
            await eventually(lambda: _allowed(eddie.create(site)), what="the binding to apply")
            assert [o.metadata.name for o in (await eddie.list("websites", "default")).items] == [
                "mine"
            ]
            refused = 'cannot delete resource "websites" in API group "examples.tugboat.io"'
            with pytest.raises(Forbidden, match=re.escape(refused)):
                await eddie.delete("websites", "default", "mine")
        finally:
            await admin.close()
            await eddie.close()


async def _allowed(call: Any) -> bool:
    try:
        await call
    except Forbidden:
        return False
    return True

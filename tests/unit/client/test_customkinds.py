"""Custom kinds on the client side: a CRD becomes a Kind every lookup finds (and loses it
when the CRD goes), custom objects flatten to and from Kubernetes' shape, the JSONPaths of
printer columns, and `tug get`'s columns for a custom kind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from client import customkinds, kinds
from client.codec import from_dict, to_dict
from client.printing import columns
from proto import apiextensions_pb2
from tests.support.crds import serving, website_crd

_crd = website_crd


@pytest.fixture
def served() -> Iterator[customkinds.CustomKind]:
    with serving(website_crd()) as kind:
        yield kind


def test_a_custom_object_flattens_to_kubernetes_shape_and_back():
    body = {
        "apiVersion": "examples.tugboat.io/v1",
        "kind": "Website",
        "metadata": {"name": "hello", "labels": {"a": "b"}},
        "spec": {"image": "nginx", "replicas": 2, "nested": {"list": [1, "two", None]}},
        "status": {"replicas": 1},
        "data": "top-level fields besides spec are kept too",
    }
    obj = from_dict(apiextensions_pb2.CustomObject, body)
    assert obj.metadata.labels["a"] == "b"
    assert obj.HasField("status")
    assert to_dict(obj) == body


def test_a_custom_object_without_status_has_none_and_a_non_object_status_stays_content():
    obj = from_dict(apiextensions_pb2.CustomObject, {"kind": "W", "spec": {}})
    assert not obj.HasField("status")
    odd = from_dict(apiextensions_pb2.CustomObject, {"kind": "W", "status": "up"})
    assert not odd.HasField("status")
    assert to_dict(odd)["status"] == "up"


def test_a_crd_makes_a_kind_every_lookup_finds_until_it_stops(served):
    assert served.api_version == "examples.tugboat.io/v1"
    assert served.namespaced and served.has_status
    assert served.version().scale == customkinds.ScaleSpec(
        ".spec.replicas", ".status.replicas", ".status.selector"
    )
    for name in ("websites", "website", "ws", "Website", "websites.examples.tugboat.io"):
        assert kinds.resolve(name) is served
    assert kinds.by_resource("websites") is served
    assert kinds.by_kind("examples.tugboat.io/v1", "Website") is served
    obj = served.new()
    assert kinds.of(obj) is served
    customkinds.stop("websites")
    with pytest.raises(kinds.UnknownKindError):
        kinds.resolve("ws")
    with pytest.raises(kinds.UnknownKindError):
        kinds.by_resource("websites")


def test_a_crd_may_never_shadow_a_built_in_kind():
    crd = _crd(names={"plural": "pods", "kind": "Pod"})
    assert customkinds.serve(crd) is None
    assert kinds.by_resource("pods").api_version == "v1"


def test_a_crd_without_a_storage_version_serves_nothing():
    crd = _crd()
    crd.spec.versions[0].storage = False
    assert customkinds.kind_of(crd) is None


JSON_PATHS = [
    (".spec.replicas", [3]),
    (".spec.ports[0].port", [80]),
    (".spec.ports[*].port", [80, 81]),
    ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
    ("{.spec.replicas}", [3]),
    (".spec.missing", []),
    (".spec.ports[5]", []),
]


@pytest.mark.parametrize(("path", "expected"), JSON_PATHS)
def test_simple_json_paths_reach_their_values(path, expected):
    data = {
        "spec": {"replicas": 3, "ports": [{"port": 80}, {"port": 81}]},
        "status": {"conditions": [{"type": "Other", "status": "False"},
                                  {"type": "Ready", "status": "True"}]},
    }  # fmt: skip
    assert customkinds.json_path_values(data, path) == expected


@pytest.mark.parametrize("path", ["spec.replicas", ".spec..replicas", ".spec[", ""])
def test_a_path_that_is_not_a_simple_json_path_is_refused(path):
    with pytest.raises(ValueError):
        customkinds.parse_json_path(path)


def test_tug_get_prints_the_crds_printer_columns_and_wide_ones_in_their_order(served):
    obj = from_dict(
        apiextensions_pb2.CustomObject,
        {
            "apiVersion": "examples.tugboat.io/v1",
            "kind": "Website",
            "metadata": {"name": "hello", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"image": "nginx", "replicas": 2},
            "status": {"url": "http://x"},
        },
    )
    at = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert columns.header("websites", wide=False, all_namespaces=False) == [
        "NAME", "IMAGE", "REPLICAS", "READY", "AGE"]  # fmt: skip
    assert columns.row("websites", obj, at, wide=False, all_namespaces=False) == [
        "hello", "nginx", "2", "", "5m"]  # fmt: skip
    assert columns.header("websites", wide=True, all_namespaces=True) == [
        "NAMESPACE", "NAME", "IMAGE", "REPLICAS", "READY", "URL", "AGE"]  # fmt: skip
    assert columns.row("websites", obj, at, wide=True, all_namespaces=False) == [
        "hello", "nginx", "2", "", "http://x", "5m"]  # fmt: skip


def test_a_crd_that_declares_no_columns_gets_age_alone():
    crd = _crd()
    del crd.spec.versions[0].additional_printer_columns[:]
    kind = customkinds.serve(crd)
    try:
        assert kind is not None and kind.version().columns == (customkinds.AGE,)
        assert columns.header("websites", wide=False, all_namespaces=False) == ["NAME", "AGE"]
    finally:
        customkinds.stop("websites")


class _Lister:
    def __init__(self, items: list[Any]) -> None:
        self.items = items

    async def list_all(self, resource: str, namespace: str = "") -> Any:
        assert resource == "customresourcedefinitions"
        return self


async def test_load_learns_every_crd_of_the_cluster_but_those_being_deleted():
    gone = _crd(names={"plural": "gones", "kind": "Gone"})
    gone.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    try:
        found = await customkinds.load(_Lister([_crd(), gone]))
        assert [k.resource for k in found] == ["websites"]
        assert kinds.resolve("ws").kind == "Website"
    finally:
        customkinds.stop("websites")

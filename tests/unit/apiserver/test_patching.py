from typing import Any

import pytest

from master.apiserver.patching import (
    PatchError,
    json_merge_patch,
    json_patch,
    strategic_merge_patch,
)

POD: dict[str, Any] = {
    "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
    "spec": {
        "containers": [
            {"name": "app", "image": "v1", "imagePullPolicy": "IfNotPresent",
             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
            {"name": "side", "image": "s1"},
        ],
        "tolerations": [{"key": "k", "operator": "Exists"}],
    },
}  # fmt: skip


def test_a_merge_patch_merges_maps_deletes_nulls_and_replaces_lists():
    patched = json_merge_patch(
        POD, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"containers": []}}
    )
    assert patched["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert patched["spec"]["containers"] == []
    assert POD["metadata"]["labels"] == {"a": "1", "b": "2"}, "the input is left alone"


def test_a_json_patch_applies_its_operations_in_order_and_names_a_bad_path():
    patched = json_patch(
        POD,
        [
            {"op": "add", "path": "/metadata/labels/c", "value": "3"},
            {"op": "replace", "path": "/spec/containers/0/image", "value": "v2"},
            {"op": "remove", "path": "/spec/containers/1"},
            {"op": "test", "path": "/metadata/name", "value": "p"},
        ],
    )
    assert patched["metadata"]["labels"]["c"] == "3"
    assert [c["image"] for c in patched["spec"]["containers"]] == ["v2"]
    with pytest.raises(PatchError, match="/spec/nope"):
        json_patch(POD, [{"op": "replace", "path": "/spec/nope/x", "value": 1}])


def test_a_strategic_patch_merges_containers_by_name_keeping_fields_it_does_not_name():
    patched = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "app", "image": "v2"}]}})
    app, side = patched["spec"]["containers"]
    assert app["image"] == "v2"
    assert app["imagePullPolicy"] == "IfNotPresent"
    assert len(app["env"]) == 2
    assert side == {"name": "side", "image": "s1"}


def test_a_strategic_patch_replaces_lists_without_a_merge_key():
    patched = strategic_merge_patch(POD, {"spec": {"tolerations": [{"key": "z"}]}})
    assert patched["spec"]["tolerations"] == [{"key": "z"}]


def test_patch_delete_removes_one_keyed_item_and_set_element_order_orders_them():
    patched = strategic_merge_patch(
        POD,
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
                "containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}],
            }
        },
    )
    assert [c["name"] for c in patched["spec"]["containers"]] == ["side", "app"]
    assert patched["spec"]["containers"][1]["env"] == [{"name": "B", "value": "2"}]


def test_patch_replace_retain_keys_and_delete_from_primitive_list():
    patched = strategic_merge_patch(
        POD,
        {
            "metadata": {
                "labels": {"$patch": "replace", "only": "this"},
                "$deleteFromPrimitiveList/finalizers": ["x"],
            },
            "spec": {"$retainKeys": ["containers"]},
        },
    )
    assert patched["metadata"]["labels"] == {"only": "this"}
    assert patched["metadata"]["finalizers"] == []
    assert "tolerations" not in patched["spec"]


def test_finalizers_merge_as_a_set():
    patched = strategic_merge_patch(POD, {"metadata": {"finalizers": ["y", "x"]}})
    assert patched["metadata"]["finalizers"] == ["x", "y"]


def test_a_keyed_item_without_its_key_is_refused_with_its_path():
    with pytest.raises(PatchError, match=r'spec.containers\[0\].*"name"'):
        strategic_merge_patch(POD, {"spec": {"containers": [{"image": "v3"}]}})

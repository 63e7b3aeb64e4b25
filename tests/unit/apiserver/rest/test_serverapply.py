"""Server-side apply: who owns which field, conflicts between managers, and removal."""

from __future__ import annotations

from typing import Any

import pytest

from master.apiserver.rest import fieldsets, serverapply
from master.apiserver.rest.status import HttpError

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"app": "web"}, "finalizers": ["a/b"]},
    "spec": {
        "containers": [{"name": "web", "image": "nginx", "args": ["-x"]}],
        "nodeSelector": {"disk": "ssd"},
    },
    "status": {"phase": "Running"},
}


def test_fields_are_leaves_keyed_items_and_set_members_never_status_or_identity():
    found = fieldsets.fields_of(POD)
    item = ("f:spec", "f:containers", 'k:{"name":"web"}')
    assert found == {
        ("f:metadata", "f:labels", "f:app"),
        ("f:metadata", "f:finalizers", 'v:"a/b"'),
        item,
        (*item, "f:name"),
        (*item, "f:image"),
        (*item, "f:args"),  # a list without a merge key is owned whole
        ("f:spec", "f:nodeSelector", "f:disk"),
    }
    assert fieldsets.from_fields_v1(fieldsets.to_fields_v1(found)) == found
    assert fieldsets.dotted((*item, "f:image")) == '.spec.containers[name="web"].image'


def test_an_update_takes_the_fields_it_changed_from_the_other_managers():
    old: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {"replicas": 1, "paused": False}}
    created = {**old}
    serverapply.record_update(None, created, manager="a", api_version="apps/v1")
    changed = {"metadata": {**created["metadata"]}, "spec": {"replicas": 3, "paused": False}}
    serverapply.record_update(created, changed, manager="b", api_version="apps/v1")
    owners = {e.manager: e.fields for e in serverapply.entries_of(changed)}
    assert owners == {"a": {("f:spec", "f:paused")}, "b": {("f:spec", "f:replicas")}}


def test_an_apply_that_changes_anothers_field_conflicts_naming_every_field():
    live = serverapply.apply(
        None, {"spec": {"replicas": 1, "paused": False}}, manager="a", force=False,
        api_version="apps/v1",
    )  # fmt: skip
    with pytest.raises(HttpError) as refused:
        serverapply.apply(
            live, {"spec": {"replicas": 2, "paused": True}}, manager="b", force=False,
            api_version="apps/v1",
        )  # fmt: skip
    assert refused.value.reason == "Conflict"
    assert "2 conflict(s)" in refused.value.message
    assert 'conflict with "a" using apps/v1: .spec.paused' in refused.value.message
    forced = serverapply.apply(
        live, {"spec": {"replicas": 2}}, manager="b", force=True, api_version="apps/v1"
    )
    assert forced["spec"] == {"replicas": 2, "paused": False}
    owners = {e.manager: e.fields for e in serverapply.entries_of(forced)}
    assert owners == {"a": {("f:spec", "f:paused")}, "b": {("f:spec", "f:replicas")}}


def test_a_field_left_out_of_the_next_apply_is_removed_unless_another_manager_owns_it():
    first = {"metadata": {"labels": {"x": "1", "y": "2"}}}
    live = serverapply.apply(None, first, manager="a", force=False, api_version="v1")
    shared = serverapply.apply(
        live, {"metadata": {"labels": {"y": "2"}}}, manager="b", force=False, api_version="v1"
    )
    after = serverapply.apply(
        shared, {"metadata": {"labels": {}}}, manager="a", force=False, api_version="v1"
    )
    assert after["metadata"]["labels"] == {"y": "2"}


def test_apply_needs_a_field_manager():
    with pytest.raises(HttpError, match="fieldManager is required"):
        serverapply.apply(None, {}, manager="", force=False, api_version="v1")

"""The three-way merge of client-side apply: manifest fields set, dropped fields removed,
everything else (status, defaults, other writers' fields) kept."""

from __future__ import annotations

import json

import pytest

from cli.apply.merge import LAST_APPLIED, applied_config, merge_map, three_way

CASES = [
    (
        "a field in the manifest is set",
        {"spec": {"replicas": 1}},
        {},
        {"spec": {"replicas": 3}},
        {"spec": {"replicas": 3}},
    ),
    (
        "a field dropped from the manifest is removed",
        {"metadata": {"labels": {"app": "web", "tier": "front"}}},
        {"metadata": {"labels": {"app": "web", "tier": "front"}}},
        {"metadata": {"labels": {"app": "web"}}},
        {"metadata": {"labels": {"app": "web"}}},
    ),
    (
        "a label someone else added stays",
        {"metadata": {"labels": {"app": "web", "team": "ops"}}},
        {"metadata": {"labels": {"app": "web"}}},
        {"metadata": {"labels": {"app": "web"}}},
        {"metadata": {"labels": {"app": "web", "team": "ops"}}},
    ),
    (
        "a server default stays",
        {"spec": {"replicas": 1, "strategy": {"type": "RollingUpdate"}}},
        {"spec": {"replicas": 1}},
        {"spec": {"replicas": 1}},
        {"spec": {"replicas": 1, "strategy": {"type": "RollingUpdate"}}},
    ),
    (
        "status stays",
        {"spec": {"x": 1}, "status": {"phase": "Running"}},
        {"spec": {"x": 1}},
        {"spec": {"x": 2}},
        {"spec": {"x": 2}, "status": {"phase": "Running"}},
    ),
    (
        "a whole map dropped from the manifest goes",
        {"spec": {"nodeSelector": {"disk": "ssd"}, "x": 1}},
        {"spec": {"nodeSelector": {"disk": "ssd"}, "x": 1}},
        {"spec": {"x": 1}},
        {"spec": {"x": 1}},
    ),
    (
        "containers merge by name and keep their defaults",
        {"containers": [{"name": "a", "image": "i:1", "imagePullPolicy": "IfNotPresent"}]},
        {"containers": [{"name": "a", "image": "i:1"}]},
        {"containers": [{"name": "a", "image": "i:2"}]},
        {"containers": [{"name": "a", "image": "i:2", "imagePullPolicy": "IfNotPresent"}]},
    ),
    (
        "a container dropped from the manifest is removed",
        {"containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "j"}]},
        {"containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "j"}]},
        {"containers": [{"name": "a", "image": "i"}]},
        {"containers": [{"name": "a", "image": "i"}]},
    ),
    (
        "container ports merge by containerPort, keeping the defaulted protocol",
        {"ports": [{"containerPort": 80, "protocol": "TCP"}]},
        {"ports": [{"containerPort": 80}]},
        {"ports": [{"containerPort": 80}]},
        {"ports": [{"containerPort": 80, "protocol": "TCP"}]},
    ),
    (
        "service ports merge by port, keeping the allocated nodePort",
        {"ports": [{"port": 80, "nodePort": 30080, "targetPort": 80}]},
        {"ports": [{"port": 80}]},
        {"ports": [{"port": 80, "targetPort": 8080}]},
        {"ports": [{"port": 80, "nodePort": 30080, "targetPort": 8080}]},
    ),
    (
        "lists without a merge key are replaced",
        {"command": ["sh", "-c", "old"]},
        {"command": ["sh", "-c", "old"]},
        {"command": ["httpd", "-f"]},
        {"command": ["httpd", "-f"]},
    ),
    (
        "a scalar can change type (int-or-string)",
        {"maxSurge": "25%"},
        {},
        {"maxSurge": 1},
        {"maxSurge": 1},
    ),
]


@pytest.mark.parametrize(
    ("case", "live", "last", "new", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_three_way_merge(case, live, last, new, expected):
    assert merge_map(live, last, new) == expected


def test_apply_records_the_manifest_and_never_its_own_server_fields():
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "c",
            "resourceVersion": "42",
            "uid": "u",
            "annotations": {LAST_APPLIED: "{}"},
        },
        "data": {"a": "1"},
        "status": {},
    }
    applied = applied_config(manifest)
    assert applied == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                       "data": {"a": "1"}}


def test_the_annotation_makes_a_second_apply_of_the_same_manifest_a_no_op():
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                "data": {"a": "1"}}
    live = three_way({}, manifest)
    live["metadata"]["uid"] = "u1"
    live["metadata"]["resourceVersion"] = "7"
    assert three_way(live, manifest) == live
    recorded = json.loads(live["metadata"]["annotations"][LAST_APPLIED])
    assert recorded == manifest


def test_annotations_set_by_others_survive_dropping_every_annotation_from_the_file():
    first = {"metadata": {"name": "c", "annotations": {"mine": "1"}}}
    live = three_way({}, first)
    live["metadata"]["annotations"]["theirs"] = "2"
    after = three_way(live, {"metadata": {"name": "c"}})
    assert after["metadata"]["annotations"].keys() == {"theirs", LAST_APPLIED}

"""Validation of every kind's metadata (validation/meta.py): names, labels, annotations,
owner references, and what no update may change."""

from __future__ import annotations

from typing import Any

import pytest

from master.apiserver.validation.errors import Errors
from master.apiserver.validation.meta import validate_meta
from proto import meta_pb2
from tests.unit.apiserver.validation.cases import (
    LABELS,
    RFC1123_LABEL,
    RFC1123_SUBDOMAIN,
    VALID,
    Case,
    UpdateCase,
    assert_named,
    errors_of,
    invalid_params,
    update_errors,
    update_params,
)

CASES: list[Case] = [
    (
        "Pod",
        {"metadata.name": "Foo_Bar"},
        f'metadata.name: Invalid value: "Foo_Bar": {RFC1123_SUBDOMAIN}',
        "an uppercase name",
    ),
    (
        "Pod",
        {"metadata.name": "a" * 254},
        'metadata.name: Invalid value: "' + "a" * 254 + '": must be no more than 253 characters',
        "a name longer than 253",
    ),
    (
        "Pod",
        {"metadata": {"labels": LABELS}},
        "metadata.name: Required value: name or generateName is required",
        "no name at all",
    ),
    (
        "Namespace",
        {"metadata.name": "a.b"},
        f'metadata.name: Invalid value: "a.b": {RFC1123_LABEL}',
        "a dotted namespace name",
    ),
    (
        "Service",
        {"metadata.name": "1web"},
        'metadata.name: Invalid value: "1web": a DNS-1035 label must consist',
        "a service name starting with a digit",
    ),
    (
        "Pod",
        {"metadata.generateName": "Web-"},
        'metadata.generateName: Invalid value: "Web-"',
        "an uppercase generateName",
    ),
    (
        "Pod",
        {"metadata.namespace": "Prod"},
        f'metadata.namespace: Invalid value: "Prod": {RFC1123_LABEL}',
        "an uppercase namespace",
    ),
    (
        "Node",
        {"metadata.namespace": "default"},
        "metadata.namespace: Forbidden: not allowed on this type",
        "a namespace on a node",
    ),
    (
        "Pod",
        {"metadata.labels": {"bad key": "x"}},
        'metadata.labels: Invalid value: "bad key": name part must consist of',
        "a label key with a space",
    ),
    (
        "Pod",
        {"metadata.labels": {"Example.com/a": "x"}},
        'metadata.labels: Invalid value: "Example.com/a": prefix part a lowercase RFC 1123 '
        "subdomain",
        "a label key with an uppercase prefix",
    ),
    (
        "Pod",
        {"metadata.labels": {"a/b/c": "x"}},
        'metadata.labels: Invalid value: "a/b/c": a qualified name must consist of',
        "a label key with two slashes",
    ),
    (
        "Pod",
        {"metadata.labels": {"k" * 64: "x"}},
        "name part must be no more than 63 characters",
        "a label key longer than 63",
    ),
    (
        "Pod",
        {"metadata.labels": {"app": "-web"}},
        'metadata.labels[app]: Invalid value: "-web": a valid label must be an empty string',
        "a label value starting with a dash",
    ),
    (
        "Pod",
        {"metadata.labels": {"app": "v" * 64}},
        'metadata.labels[app]: Invalid value: "'
        + "v" * 64
        + '": must be no more than 63 characters',
        "a label value longer than 63",
    ),
    (
        "Pod",
        {"metadata.annotations": {"big": "x" * (256 * 1024)}},
        "metadata.annotations: Too long: must have at most 262144 bytes",
        "annotations over 256 KiB",
    ),
    (
        "Pod",
        {
            "metadata.ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs"}
            ]
        },
        "metadata.ownerReferences[0].uid: Required value",
        "an owner reference without uid",
    ),
    (
        "Pod",
        {
            "metadata.ownerReferences": [
                {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": True},
                {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": True},
            ]
        },
        'metadata.ownerReferences: Invalid value: ["A/a", "B/b"]: Only one reference can have '
        "Controller set to true",
        "two controllers",
    ),
    (
        "Pod",
        {"metadata.finalizers": ["bad finalizer"]},
        'metadata.finalizers[0]: Invalid value: "bad finalizer"',
        "a finalizer with a space",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_an_invalid_object_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


UPDATES: list[UpdateCase] = [
    (
        "Pod",
        None,
        {"metadata.name": "web-2"},
        'metadata.name: Invalid value: "web-2": field is immutable',
        "a renamed object",
    ),
    (
        "Deployment",
        {"metadata.uid": "u1"},
        {"metadata.uid": "u2"},
        'metadata.uid: Invalid value: "u2": field is immutable',
        "a changed uid",
    ),
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes", "expected"), update_params(UPDATES))
def test_a_forbidden_object_update_gets_an_error_naming_the_field(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    assert_named(update_errors(kind, old_changes, new_changes), expected)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_valid_object_of_every_kind_has_no_errors(kind: str) -> None:
    assert errors_of(kind) == []


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(
        "Pod",
        {
            "metadata.name": "Bad_Name",
            "spec.containers": [{"name": "A", "ports": [{"containerPort": 0}]}],
        },
    )
    paths = [e.split(":")[0] for e in errors]
    assert paths == [
        "metadata.name",
        "spec.containers[0].name",
        "spec.containers[0].image",
        "spec.containers[0].ports[0].containerPort",
    ]


def test_a_name_may_be_left_to_generate_name() -> None:
    assert errors_of("Pod", {"metadata": {"generateName": "web-"}}) == []


def test_status_changes_are_never_an_update_error() -> None:
    assert update_errors("Pod", {"spec.nodeName": "node-a"}, {"status": {"phase": "Running"}}) == []


@pytest.mark.parametrize("text", ["{", "[]", "3", '"f:data"'])
def test_managed_fields_whose_fields_v1_is_not_a_json_object_are_invalid(text: str) -> None:
    # Found by the fuzz suite: stored, such an entry broke every REST read of the object.
    entry = meta_pb2.ManagedFieldsEntry(manager="m", fields_v1=meta_pb2.RawJSON(json=text))
    meta = meta_pb2.ObjectMeta(name="x", namespace="default", managed_fields=[entry])
    errs = Errors()
    validate_meta(errs, meta, kind="ConfigMap", namespaced=True)
    assert [e.path for e in errs] == ["metadata.managedFields[0].fieldsV1"]
    assert "must be a JSON object" in errs[0].detail


def test_managed_fields_holding_a_json_object_are_valid() -> None:
    entry = meta_pb2.ManagedFieldsEntry(
        manager="m", fields_v1=meta_pb2.RawJSON(json='{"f:data": {}}')
    )
    meta = meta_pb2.ObjectMeta(name="x", namespace="default", managed_fields=[entry])
    errs = Errors()
    validate_meta(errs, meta, kind="ConfigMap", namespaced=True)
    assert errs == []

"""DefaultIngressClass: which class an Ingress created without one gets."""

from __future__ import annotations

from typing import Any

import pytest

from client.codec import from_dict
from master.apiserver.admission import ingressclass
from proto import networking_pb2

DEFAULT = {"ingressclass.kubernetes.io/is-default-class": "true"}


def klass(name: str, created: str, annotations: dict[str, str] | None = None) -> Any:
    meta = {"name": name, "creationTimestamp": created, "annotations": annotations or {}}
    return from_dict(
        networking_pb2.IngressClass, {"metadata": meta, "spec": {"controller": "x.io/y"}}
    )


def ing(spec: dict[str, Any], annotations: dict[str, str] | None = None) -> Any:
    meta = {"name": "web", "namespace": "default", "annotations": annotations or {}}
    return from_dict(networking_pb2.Ingress, {"metadata": meta, "spec": spec})


OLD, NEW = "2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z"


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        ([], None),
        ([klass("a", OLD)], None),
        ([klass("a", OLD, DEFAULT)], "a"),
        ([klass("a", OLD, {"ingressclass.kubernetes.io/is-default-class": "false"})], None),
        ([klass("old", OLD, DEFAULT), klass("new", NEW, DEFAULT)], "new"),
        ([klass("b", OLD, DEFAULT), klass("a", OLD, DEFAULT)], "a"),
    ],
    ids=["none", "no default", "one default", "annotated false", "the newest", "ties by name"],
)
def test_the_default_class_is_the_newest_annotated_one(classes: list[Any], expected: str) -> None:
    assert ingressclass.default_class(classes) == expected


def test_a_class_named_by_field_or_annotation_is_kept_and_none_is_defaulted() -> None:
    classes = [klass("tugboat", OLD, DEFAULT)]
    named = ing({"ingressClassName": "nginx"})
    annotated = ing({}, {"kubernetes.io/ingress.class": "nginx"})
    bare = ing({})

    for obj in (named, annotated, bare):
        ingressclass.apply(obj, classes)

    assert named.spec.ingress_class_name == "nginx"
    assert not annotated.spec.HasField("ingress_class_name")
    assert bare.spec.ingress_class_name == "tugboat"

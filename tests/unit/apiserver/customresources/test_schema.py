"""A CRD's openAPIV3Schema: validation with Kubernetes' wording, pruning of unknown fields,
defaults at every depth, and the structural check a CRD's schema must pass."""

from __future__ import annotations

from typing import Any

import pytest

from master.apiserver.customresources.schema import (
    apply_defaults,
    prune,
    structural_problems,
    validate,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["image"],
            "properties": {
                "image": {"type": "string", "minLength": 1, "maxLength": 20},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
                "tier": {"type": "string", "enum": ["frontend", "backend"]},
                "name": {"type": "string", "pattern": "^[a-z]+$"},
                "enabled": {"type": "boolean"},
                "port": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "ports": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 2,
                    "items": {
                        "type": "object",
                        "properties": {"port": {"type": "integer"}, "protocol": {
                            "type": "string", "default": "TCP"}},
                    },
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "integer"}}},
    },
}  # fmt: skip


def _object(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "x.io/v1", "kind": "X", "metadata": {}, "spec": {"image": "i", **spec}}


VALIDATION_CASES = [
    pytest.param({"replicas": "three"},
                 'spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
                 'integer: "string"', id="a string where an integer is wanted"),
    pytest.param({"replicas": 1.5},
                 'spec.replicas: Invalid value: "number": spec.replicas in body must be of type '
                 'integer: "number"', id="a fraction where an integer is wanted"),
    pytest.param({"enabled": "yes"},
                 'spec.enabled: Invalid value: "string": spec.enabled in body must be of type '
                 'boolean: "string"', id="a string where a boolean is wanted"),
    pytest.param({"replicas": 11},
                 "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or "
                 "equal to 10", id="over the maximum"),
    pytest.param({"replicas": -1},
                 "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than "
                 "or equal to 0", id="under the minimum"),
    pytest.param({"ratio": 0},
                 "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
                 id="at an exclusive minimum"),
    pytest.param({"image": ""},
                 'spec.image: Invalid value: "": spec.image in body should be at least 1 chars '
                 "long", id="under minLength"),
    pytest.param({"image": "x" * 21},
                 "spec.image: Too long: may not be more than 20 bytes", id="over maxLength"),
    pytest.param({"name": "Web"},
                 "spec.name: Invalid value: \"Web\": spec.name in body should match '^[a-z]+$'",
                 id="not matching the pattern"),
    pytest.param({"tier": "middle"},
                 'spec.tier: Unsupported value: "middle": supported values: "frontend", '
                 '"backend"', id="outside the enum"),
    pytest.param({"ports": []},
                 "spec.ports: Invalid value: 0: spec.ports in body should have at least 1 items",
                 id="under minItems"),
    pytest.param({"ports": [{}, {}, {}]},
                 "spec.ports: Too many: 3: must have at most 2 items", id="over maxItems"),
    pytest.param({"ports": [{"port": "http"}]},
                 'spec.ports[0].port: Invalid value: "string": spec.ports[0].port in body must be '
                 'of type integer: "string"', id="an item's field of the wrong type"),
    pytest.param({"labels": {"a": 1}},
                 'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type '
                 'string: "integer"', id="a map value of the wrong type"),
    pytest.param({"port": True},
                 'spec.port: Invalid value: "boolean": spec.port in body must be of type '
                 'integer-or-string: "boolean"', id="neither integer nor string"),
    pytest.param({"enabled": None},
                 'spec.enabled: Invalid value: "null": spec.enabled in body must be of type '
                 'boolean: "null"', id="null where null is not allowed"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "expected"), VALIDATION_CASES)
def test_a_value_the_schema_refuses_is_named_with_kubernetes_wording(spec, expected):
    problems = validate(SCHEMA, _object(**spec), "")
    assert [f"{p.path}: {p.detail}" for p in problems] == [expected]


def test_a_missing_required_field_is_a_required_value():
    obj = _object()
    del obj["spec"]["image"]
    assert [str(p) for p in validate(SCHEMA, obj, "")] == ["spec.image: Required value"]


def test_what_the_schema_allows_passes():
    obj = _object(replicas=3, port="http", note=None, labels={"a": "b"}, free={"x": [1]},
                  ports=[{"port": 80}], tier="backend", ratio=0.5, enabled=True)  # fmt: skip
    assert validate(SCHEMA, obj, "") == []
    assert validate(SCHEMA, _object(port=8080), "") == []


def test_every_problem_is_reported_at_once():
    problems = validate(SCHEMA, _object(replicas="x", tier="y"), "")
    assert [p.path for p in problems] == ["spec.replicas", "spec.tier"]


def test_unknown_fields_are_pruned_at_every_depth_but_where_preserved():
    obj = _object(color="red", ports=[{"port": 1, "extra": True}], free={"kept": {"deep": 1}})
    obj["extra"] = 1
    obj["status"] = {"ready": 1, "other": 2}
    prune(SCHEMA, obj)
    assert obj == {
        "apiVersion": "x.io/v1",
        "kind": "X",
        "metadata": {},
        "spec": {"image": "i", "ports": [{"port": 1}], "free": {"kept": {"deep": 1}}},
        "status": {"ready": 1},
    }


def test_defaults_fill_missing_and_null_fields_at_every_depth():
    obj = _object(ports=[{"port": 1}, {"port": 2, "protocol": "UDP"}])
    obj["spec"]["replicas"] = None
    apply_defaults(SCHEMA, obj)
    assert obj["spec"]["replicas"] == 1
    assert [p["protocol"] for p in obj["spec"]["ports"]] == ["TCP", "UDP"]
    given = _object(replicas=4)
    apply_defaults(SCHEMA, given)
    assert given["spec"]["replicas"] == 4


STRUCTURAL_CASES = [
    pytest.param({"type": "array", "items": {"type": "string"}},
                 ['s.type: Invalid value: "array": must be object at the root'],
                 id="a root that is not an object"),
    pytest.param({"type": "object", "properties": {"spec": {"properties": {}}}},
                 ["s.properties[spec].type: Required value: must not be empty for specified "
                  "object fields"], id="a property without a type"),
    pytest.param({"type": "object", "properties": {"l": {"type": "array"}}},
                 ["s.properties[l].items: Required value: must be specified"],
                 id="an array without items"),
    pytest.param({"type": "object", "properties": {"a": {"type": "strin"}}},
                 ['s.properties[a].type: Unsupported value: "strin": supported values: "object", '
                  '"array", "string", "integer", "number", "boolean"'], id="an unknown type"),
    pytest.param({"type": "object", "properties": {"a": {"type": "string", "deafult": "x"}}},
                 ["s.properties[a].deafult: Forbidden: unknown field"], id="a misspelt keyword"),
    pytest.param({"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}},
                 ['s.properties[a].default: Invalid value: "string": default in body must be of '
                  'type integer: "string"'], id="a default the schema refuses"),
    pytest.param({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}},
                 None, id="a pattern that is not a regular expression"),
]  # fmt: skip


@pytest.mark.parametrize(("schema", "expected"), STRUCTURAL_CASES)
def test_a_schema_that_is_not_structural_is_refused_naming_the_keyword(schema, expected):
    problems = [f"{p.path}: {p.detail}" for p in structural_problems(schema, "s")]
    if expected is None:
        assert len(problems) == 1 and problems[0].startswith("s.properties[a].pattern: ")
    else:
        assert problems == expected


def test_a_structural_schema_passes():
    assert structural_problems(SCHEMA, "s") == []

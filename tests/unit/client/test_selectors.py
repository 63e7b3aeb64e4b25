"""Label selectors (string syntax and LabelSelector messages) and field selectors."""

from __future__ import annotations

import re

import pytest

from client.codec import from_dict
from client.kinds import by_kind
from client.selectors import (
    from_labels,
    from_proto,
    parse_field_selector,
    parse_label_selector,
)
from proto import core_pb2, meta_pb2
from proto.apiextensions_pb2 import CustomObject

WEB = {"app": "web", "tier": "frontend", "env": "prod"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        pytest.param("", True, id="the empty selector selects everything"),
        pytest.param("app=web", True, id="equality holds"),
        pytest.param("app==web", True, id="double equals is equality"),
        pytest.param("app=db", False, id="equality fails on another value"),
        pytest.param("missing=x", False, id="equality fails on a missing label"),
        pytest.param("app!=db", True, id="inequality holds on another value"),
        pytest.param("missing!=x", True, id="inequality holds on a missing label"),
        pytest.param("app!=web", False, id="inequality fails on the same value"),
        pytest.param("env in (prod,staging)", True, id="in holds when the value is listed"),
        pytest.param("env in (dev)", False, id="in fails when the value is not listed"),
        pytest.param("missing in (x)", False, id="in fails on a missing label"),
        pytest.param("env notin (dev,qa)", True, id="notin holds when the value is not listed"),
        pytest.param("missing notin (x)", True, id="notin holds on a missing label"),
        pytest.param("env notin (prod)", False, id="notin fails when the value is listed"),
        pytest.param("tier", True, id="a bare key requires the label"),
        pytest.param("missing", False, id="a bare key fails on a missing label"),
        pytest.param("!missing", True, id="a negated key requires its absence"),
        pytest.param("!app", False, id="a negated key fails when present"),
        pytest.param("app=web,tier=frontend,!legacy", True, id="every requirement must hold"),
        pytest.param("app=web,tier=backend", False, id="one failing requirement fails all"),
        pytest.param("  app = web , env in ( prod ) ", True, id="whitespace is ignored"),
        pytest.param("example.com/team=web", False, id="a prefixed key"),
    ],
)
def test_a_label_selector_matches_labels_as_kubernetes_does(text: str, matches: bool) -> None:
    assert parse_label_selector(text).matches(WEB) is matches


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        pytest.param("b=1,a=2", "a=2,b=1", id="requirements are sorted by key"),
        pytest.param("a in (z,y,x)", "a in (x,y,z)", id="set values are sorted"),
        pytest.param("a==1", "a==1", id="double equals is kept"),
        pytest.param("x,!y", "x,!y", id="existence operators"),
        pytest.param("a notin (b)", "a notin (b)", id="notin"),
        pytest.param("", "", id="empty"),
    ],
)
def test_a_label_selector_prints_in_canonical_form(text: str, canonical: str) -> None:
    selector = parse_label_selector(text)
    assert str(selector) == canonical
    assert parse_label_selector(str(selector)) == selector


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("a b", "found 'b' after key 'a'", id="two keys without a comma"),
        pytest.param("a=b,", "trailing ','", id="a trailing comma"),
        pytest.param("a in b", "expected '('", id="in without parentheses"),
        pytest.param("a in (x y)", "unexpected 'y'", id="set values without a comma"),
        pytest.param("a in (x", "unexpected end", id="an unclosed set"),
        pytest.param("!", "unexpected end", id="a lone negation"),
        pytest.param("a=b=c", "expected ','", id="two operators"),
        pytest.param("-bad=1", "invalid label key '-bad'", id="a key starting with a dash"),
        pytest.param("a=b c", "expected ','", id="a value with a space"),
        pytest.param("a=" + "x" * 64, "no more than 63", id="a value longer than 63"),
        pytest.param("a/b/c=1", "invalid label key", id="a key with two slashes"),
    ],
)
def test_a_malformed_label_selector_is_a_value_error_naming_the_selector(
    text: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as info:
        parse_label_selector(text)
    assert repr(text) in str(info.value)


def test_a_selector_from_labels_requires_each_of_them() -> None:
    selector = from_labels({"app": "web", "env": "prod"})
    assert str(selector) == "app=web,env=prod"
    assert selector.matches(WEB)
    assert not selector.matches({"app": "web"})
    assert from_labels({}).empty()


def _proto(data: dict[str, object]) -> meta_pb2.LabelSelector:
    return from_dict(meta_pb2.LabelSelector, data)


@pytest.mark.parametrize(
    ("data", "matches", "canonical"),
    [
        pytest.param({}, True, "", id="an empty message selects everything"),
        pytest.param({"matchLabels": {"app": "web"}}, True, "app=web", id="matchLabels"),
        pytest.param(
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "qa"]}]},
            True,
            "env in (prod,qa)",
            id="In",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
            False,
            "env notin (prod)",
            id="NotIn",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, True, "tier", id="Exists"
        ),
        pytest.param(
            {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]},
            False,
            "!tier",
            id="DoesNotExist",
        ),
        pytest.param(
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}],
            },
            False,
            "app=web,env in (dev)",
            id="labels and expressions must all hold",
        ),
    ],
)
def test_a_label_selector_message_selects_as_its_string_form(
    data: dict[str, object], matches: bool, canonical: str
) -> None:
    selector = from_proto(_proto(data))
    assert selector.matches(WEB) is matches
    assert str(selector) == canonical


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        pytest.param(
            {"key": "a", "operator": "Sometimes", "values": ["x"]},
            '"Sometimes" is not a valid label selector operator',
            id="an unknown operator",
        ),
        pytest.param(
            {"key": "a", "operator": "Exists", "values": ["x"]},
            "values set must be empty for exists",
            id="values given to Exists",
        ),
        pytest.param(
            {"key": "a", "operator": "In"}, "values set can't be empty", id="In without values"
        ),
        pytest.param(
            {"key": "bad key", "operator": "Exists"}, "invalid label key", id="an invalid key"
        ),
    ],
)
def test_a_bad_match_expression_is_a_value_error_naming_it(
    expression: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        from_proto(_proto({"matchExpressions": [expression]}))
    assert "matchExpressions[0]" in str(info.value)


def _pod(name: str, namespace: str, node: str, phase: str) -> core_pb2.Pod:
    return from_dict(
        core_pb2.Pod,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeName": node},
            "status": {"phase": phase},
        },
    )


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        pytest.param("", True, id="the empty selector selects everything"),
        pytest.param("metadata.name=web-1", True, id="by name"),
        pytest.param("metadata.namespace==prod", True, id="by namespace with =="),
        pytest.param("spec.nodeName=node-a", True, id="by node"),
        pytest.param("spec.nodeName!=node-a", False, id="not on a node"),
        pytest.param("spec.nodeName=", False, id="unbound pods only"),
        pytest.param("status.phase=Running,metadata.name!=web-2", True, id="two requirements"),
        pytest.param("status.phase=Pending", False, id="by another phase"),
    ],
)
def test_a_field_selector_matches_a_pod_by_its_fields(text: str, matches: bool) -> None:
    pod = _pod("web-1", "prod", "node-a", "Running")
    assert parse_field_selector(text).matches(pod) is matches


def test_a_field_selector_value_may_escape_commas_and_equals() -> None:
    selector = parse_field_selector(r"metadata.name=a\,b\=c")
    assert selector.requirements[0].value == "a,b=c"
    assert str(selector) == r"metadata.name=a\,b\=c"


@pytest.mark.parametrize(
    ("text", "kind", "problem"),
    [
        pytest.param("spec.foo=1", None, 'field label not supported: "spec.foo"', id="unknown"),
        pytest.param("metadata.name", None, "expected FIELD=VALUE", id="no operator"),
        pytest.param(
            "spec.nodeName=a",
            ("apps/v1", "Deployment"),
            'field label not supported: "spec.nodeName" for Deployment',
            id="spec.nodeName on a kind without it",
        ),
        pytest.param(
            "status.phase=Running",
            ("v1", "Service"),
            'field label not supported: "status.phase" for Service',
            id="status.phase on a kind without it",
        ),
    ],
)
def test_an_unsupported_field_selector_is_a_value_error_naming_the_field(
    text: str, kind: tuple[str, str] | None, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_field_selector(text, by_kind(*kind) if kind else None)


def test_every_kind_may_be_selected_by_name_and_namespace() -> None:
    selector = parse_field_selector(
        "metadata.name=x,metadata.namespace=y", by_kind("apps/v1", "Deployment")
    )
    assert not selector.empty()


def test_events_may_be_selected_by_their_involved_object() -> None:
    event = from_dict(
        core_pb2.Event,
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "uid": "u1"},
        },
    )
    selector = parse_field_selector(
        "involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.uid=u1",
        by_kind("v1", "Event"),
    )
    assert selector.matches(event)


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("spec.color=blue", True),
        ("spec.size=3", True),
        ("spec.folded=true", True),
        ("status.washed=false", True),
        ("spec.color!=blue", False),
        ("spec.missing=", True),
    ],
)
def test_a_custom_object_is_selected_by_its_declared_fields_as_strings(
    selector: str, matches: bool
) -> None:
    shirt = CustomObject(api_version="stable.example.com/v1", kind="Shirt")
    shirt.content.json = '{"spec": {"color": "blue", "size": 3, "folded": true}}'
    shirt.status.json = '{"washed": false}'
    declared = ("spec.color", "spec.size", "spec.folded", "status.washed", "spec.missing")
    assert parse_field_selector(selector, extra=declared).matches(shirt) is matches

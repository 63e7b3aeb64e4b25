"""Classification: Kubernetes' rule matching, precedence, distinguishers and fallback."""

from __future__ import annotations

import pytest

from master.apiserver.flowcontrol.classifier import (
    Classifier,
    FlowKey,
    matching_order,
    non_resource_rule_matches,
    resource_rule_matches,
    subject_matches,
)
from master.apiserver.flowcontrol.model import (
    MANDATORY_CATCH_ALL_SCHEMA,
    FlowSchema,
    GroupSubject,
    NonResourceRule,
    PolicyRule,
    RequestDigest,
    ResourceRule,
    ServiceAccountSubject,
    Subject,
    UserSubject,
)

EVERYONE = (GroupSubject("*"),)
ANY_RESOURCE = ResourceRule(("*",), ("*",), ("*",), cluster_scope=True, namespaces=("*",))


def digest(**fields: object) -> RequestDigest:
    values: dict[str, object] = {"user": "alice", "groups": ("system:authenticated",)}
    values.update(fields)
    return RequestDigest(**values)  # type: ignore[arg-type]


def schema(name: str, precedence: int, level: str = "workload", **fields: object) -> FlowSchema:
    return FlowSchema(
        name=name,
        priority_level=level,
        matching_precedence=precedence,
        rules=(PolicyRule(EVERYONE, (ANY_RESOURCE,)),),
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("subject", "user", "groups", "matches"),
    [
        pytest.param(UserSubject("alice"), "alice", (), True, id="user-by-name"),
        pytest.param(UserSubject("alice"), "bob", (), False, id="other-user"),
        pytest.param(UserSubject("*"), "bob", (), True, id="every-user"),
        pytest.param(GroupSubject("system:nodes"), "n1", ("system:nodes",), True, id="member"),
        pytest.param(GroupSubject("system:nodes"), "n1", ("other",), False, id="non-member"),
        pytest.param(GroupSubject("*"), "n1", (), True, id="every-group"),
        pytest.param(
            ServiceAccountSubject("kube-system", "ctl"),
            "system:serviceaccount:kube-system:ctl",
            (),
            True,
            id="service-account",
        ),
        pytest.param(
            ServiceAccountSubject("kube-system", "ctl"),
            "system:serviceaccount:kube-system:other",
            (),
            False,
            id="other-service-account",
        ),
        pytest.param(
            ServiceAccountSubject("kube-system", "*"),
            "system:serviceaccount:kube-system:any",
            (),
            True,
            id="every-service-account-of-namespace",
        ),
        pytest.param(
            ServiceAccountSubject("kube", "*"),
            "system:serviceaccount:kube-system:any",
            (),
            False,
            id="namespace-prefix-is-not-namespace",
        ),
        pytest.param(
            ServiceAccountSubject("kube-system", "*"),
            "kube-system:any",
            (),
            False,
            id="not-a-service-account-user",
        ),
    ],
)
def test_subjects_match_users_groups_and_service_accounts(
    subject: Subject, user: str, groups: tuple[str, ...], matches: bool
) -> None:
    assert subject_matches(subject, user, groups) is matches


PODS_IN_DEFAULT = ResourceRule(("get", "list"), ("",), ("pods",), namespaces=("default",))


@pytest.mark.parametrize(
    ("rule", "request_", "matches"),
    [
        pytest.param(
            PODS_IN_DEFAULT,
            digest(verb="get", resource="pods", namespace="default"),
            True,
            id="listed-verb-resource-namespace",
        ),
        pytest.param(
            PODS_IN_DEFAULT,
            digest(verb="delete", resource="pods", namespace="default"),
            False,
            id="unlisted-verb",
        ),
        pytest.param(
            PODS_IN_DEFAULT,
            digest(verb="get", resource="pods", namespace="other"),
            False,
            id="unlisted-namespace",
        ),
        pytest.param(
            PODS_IN_DEFAULT,
            digest(verb="get", resource="pods", api_group="apps", namespace="default"),
            False,
            id="other-api-group",
        ),
        pytest.param(
            PODS_IN_DEFAULT,
            digest(verb="list", resource="pods"),
            False,
            id="no-namespace-without-cluster-scope",
        ),
        pytest.param(
            ResourceRule(("list",), ("",), ("pods",), cluster_scope=True),
            digest(verb="list", resource="pods"),
            True,
            id="no-namespace-with-cluster-scope",
        ),
        pytest.param(
            ResourceRule(("get",), ("",), ("pods",), cluster_scope=True),
            digest(verb="get", resource="pods", namespace="default"),
            False,
            id="cluster-scope-is-not-every-namespace",
        ),
        pytest.param(
            ResourceRule(("*",), ("*",), ("*",), namespaces=("*",)),
            digest(verb="patch", resource="deployments", api_group="apps", namespace="x"),
            True,
            id="wildcards",
        ),
        pytest.param(
            ResourceRule(("get",), ("",), ("pods/log",), namespaces=("*",)),
            digest(verb="get", resource="pods", subresource="log", namespace="x"),
            True,
            id="subresource-listed",
        ),
        pytest.param(
            PODS_IN_DEFAULT,
            digest(verb="get", resource="pods", subresource="log", namespace="default"),
            False,
            id="resource-does-not-cover-its-subresources",
        ),
        pytest.param(
            ResourceRule(("get",), ("",), ("*",), namespaces=("*",)),
            digest(verb="get", resource="pods", subresource="log", namespace="x"),
            True,
            id="every-resource-covers-subresources",
        ),
        pytest.param(
            ResourceRule(("get",), ("",), ("pods", "*"), namespaces=("*",)),
            digest(verb="get", resource="services", namespace="x"),
            False,
            id="wildcard-among-others-is-literal",
        ),
    ],
)
def test_resource_rules_match_as_kubernetes(
    rule: ResourceRule, request_: RequestDigest, matches: bool
) -> None:
    assert resource_rule_matches(rule, request_) is matches


@pytest.mark.parametrize(
    ("urls", "path", "matches"),
    [
        pytest.param(("/healthz",), "/healthz", True, id="exact"),
        pytest.param(("*",), "/anything", True, id="everything"),
        pytest.param(("/healthz/*",), "/healthz/etcd", True, id="below-prefix"),
        pytest.param(("/healthz/*",), "/healthz", False, id="prefix-star-not-the-prefix-itself"),
        pytest.param(("/healthz",), "/healthz/etcd", True, id="plain-url-covers-below"),
        pytest.param(("/healthz",), "/healthzz", False, id="not-a-path-prefix"),
        pytest.param(("/apis/*",), "/version", False, id="elsewhere"),
    ],
)
def test_non_resource_urls_match_as_kubernetes(
    urls: tuple[str, ...], path: str, matches: bool
) -> None:
    rule = NonResourceRule(("get",), urls)
    request_ = digest(verb="get", is_resource_request=False, path=path)
    assert non_resource_rule_matches(rule, request_) is matches


def test_non_resource_rules_check_the_verb() -> None:
    rule = NonResourceRule(("get",), ("*",))
    assert not non_resource_rule_matches(
        rule, digest(verb="post", is_resource_request=False, path="/x")
    )


def test_a_rule_needs_a_subject_and_a_rule_of_the_request_kind() -> None:
    only_nodes = FlowSchema(
        name="nodes",
        priority_level="node-high",
        rules=(PolicyRule((GroupSubject("system:nodes"),), (ANY_RESOURCE,)),),
    )
    classifier = Classifier([only_nodes])
    node = digest(user="n1", groups=("system:nodes",), verb="get", resource="pods")
    assert classifier.schema_for(node).name == "nodes"
    assert classifier.schema_for(digest(verb="get", resource="pods")).name != "nodes"
    health = digest(user="n1", groups=("system:nodes",), is_resource_request=False, path="/healthz")
    assert classifier.schema_for(health).name != "nodes"


def test_schemas_are_tried_by_precedence_then_name() -> None:
    schemas = [schema("b", 500), schema("z", 100), schema("a", 500)]
    assert [s.name for s in matching_order(schemas)] == ["z", "a", "b"]
    classifier = Classifier([schema("b", 500), schema("a", 500)])
    assert classifier.schema_for(digest(verb="get", resource="pods")).name == "a"


@pytest.mark.parametrize(
    ("distinguisher", "expected"),
    [
        pytest.param("ByUser", "alice", id="by-user"),
        pytest.param("ByNamespace", "team-a", id="by-namespace"),
        pytest.param(None, "", id="one-flow"),
    ],
)
def test_the_flow_is_the_schema_and_its_distinguisher(
    distinguisher: str | None, expected: str
) -> None:
    classifier = Classifier([schema("s", 100, distinguisher=distinguisher)])
    _, key = classifier.flow_of(digest(verb="get", resource="pods", namespace="team-a"))
    assert key == FlowKey("s", expected)


def test_flow_hashes_are_stable_and_distinguish_flows() -> None:
    assert FlowKey("s", "alice").hash() == FlowKey("s", "alice").hash()
    assert FlowKey("s", "alice").hash() != FlowKey("s", "bob").hash()
    assert FlowKey("sa", "lice").hash() != FlowKey("s", "alice").hash()
    assert 0 <= FlowKey("s", "alice").hash() < 2**64


def test_a_request_no_schema_matches_falls_back_to_the_catch_all() -> None:
    nodes_only = FlowSchema(
        name="nodes",
        priority_level="node-high",
        rules=(PolicyRule((GroupSubject("system:nodes"),), (ANY_RESOURCE,)),),
    )
    classifier = Classifier([nodes_only])
    stranger = digest(user="x", groups=(), verb="get", resource="pods")
    assert classifier.schema_for(stranger) == MANDATORY_CATCH_ALL_SCHEMA

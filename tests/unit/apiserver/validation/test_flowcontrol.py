"""Defaults and validation of FlowSchemas and PriorityLevelConfigurations
(strategies/flowschema.py, strategies/prioritylevelconfiguration.py,
validation/flowcontrol.py), in Kubernetes' words and field paths."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from client.codec import from_dict, to_dict
from client.kinds import by_resource
from master.apiserver.strategies import strategy_for
from tests.unit.apiserver.validation.cases import (
    DELETE,
    RFC1123_LABEL,
    RFC1123_SUBDOMAIN,
    assert_named,
    change,
)

HEALTH_FOR_STRANGERS: dict[str, Any] = {
    "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
    "kind": "FlowSchema",
    "metadata": {"name": "health-for-strangers"},
    "spec": {
        "matchingPrecedence": 1000,
        "priorityLevelConfiguration": {"name": "exempt"},
        "rules": [
            {
                "nonResourceRules": [
                    {"nonResourceURLs": ["/healthz", "/livez", "/readyz"], "verbs": ["*"]}
                ],
                "subjects": [{"kind": "Group", "group": {"name": "system:unauthenticated"}}],
            }
        ],
    },
}
"""The Kubernetes docs' example (API Priority and Fairness, "Health check concurrency")."""

LIST_EVENTS: dict[str, Any] = {
    "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
    "kind": "FlowSchema",
    "metadata": {"name": "list-events-default-service-account"},
    "spec": {
        "distinguisherMethod": {"type": "ByUser"},
        "matchingPrecedence": 8000,
        "priorityLevelConfiguration": {"name": "catch-all"},
        "rules": [
            {
                "resourceRules": [
                    {
                        "apiGroups": ["*"],
                        "namespaces": ["default"],
                        "resources": ["events"],
                        "verbs": ["list"],
                    }
                ],
                "subjects": [
                    {
                        "kind": "ServiceAccount",
                        "serviceAccount": {"name": "default", "namespace": "default"},
                    }
                ],
            }
        ],
    },
}

RESTRICT: dict[str, Any] = {
    "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
    "kind": "PriorityLevelConfiguration",
    "metadata": {"name": "restrict-pod-lister"},
    "spec": {
        "type": "Limited",
        "limited": {
            "nominalConcurrencyShares": 5,
            "limitResponse": {
                "type": "Queue",
                "queuing": {"queues": 10, "queueLengthLimit": 20, "handSize": 4},
            },
        },
    },
}

VALID = {"fs": LIST_EVENTS, "pl": RESTRICT}
RESOURCE = {"fs": "flowschemas", "pl": "prioritylevelconfigurations"}
RULE0 = "spec.rules[0]"
SUBJECT0 = f"{RULE0}.subjects[0]"
RR0 = f"{RULE0}.resourceRules[0]"
QUEUING = "spec.limited.limitResponse.queuing"


def defaulted(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as stored: decoded, defaulted, encoded again."""
    kind = by_resource(RESOURCE["fs" if manifest["kind"] == "FlowSchema" else "pl"])
    obj = from_dict(kind.message, manifest)
    strategy_for(kind).apply_defaults(obj)
    found: dict[str, Any] = to_dict(obj)
    return found


def errors(which: str, changes: dict[str, Any] | None = None, name: str = "") -> list[str]:
    manifest = copy.deepcopy(VALID[which])
    if name:
        manifest["metadata"]["name"] = name
    for path, value in (changes or {}).items():
        change(manifest, path, value)
    kind = by_resource(RESOURCE[which])
    obj = from_dict(kind.message, manifest)
    strategy = strategy_for(kind)
    strategy.apply_defaults(obj)
    return [str(e) for e in strategy.problems(obj)]


# ---- defaults ----


def test_a_flow_schema_without_precedence_gets_1000():
    manifest = copy.deepcopy(HEALTH_FOR_STRANGERS)
    del manifest["spec"]["matchingPrecedence"]
    assert defaulted(manifest)["spec"]["matchingPrecedence"] == 1000


def test_a_limited_level_gets_30_shares_no_lending_and_default_queues():
    manifest = copy.deepcopy(RESTRICT)
    del manifest["spec"]["limited"]["nominalConcurrencyShares"]
    manifest["spec"]["limited"]["limitResponse"]["queuing"] = {}
    assert defaulted(manifest)["spec"]["limited"] == {
        "nominalConcurrencyShares": 30,
        "lendablePercent": 0,
        "limitResponse": {
            "type": "Queue",
            "queuing": {"queues": 64, "handSize": 8, "queueLengthLimit": 50},
        },
    }


def test_zero_shares_stay_zero_and_apart_from_unset():
    manifest = copy.deepcopy(RESTRICT)
    manifest["spec"]["limited"]["nominalConcurrencyShares"] = 0
    assert defaulted(manifest)["spec"]["limited"]["nominalConcurrencyShares"] == 0
    assert errors("pl", {"spec.limited.nominalConcurrencyShares": 0}) == []


def test_given_queuing_values_are_kept_and_only_the_missing_ones_filled():
    manifest = copy.deepcopy(RESTRICT)
    del manifest["spec"]["limited"]["limitResponse"]["queuing"]["handSize"]
    queuing = defaulted(manifest)["spec"]["limited"]["limitResponse"]["queuing"]
    assert queuing == {"queues": 10, "handSize": 8, "queueLengthLimit": 20}


def test_an_exempt_member_gets_zero_shares_and_zero_lending_and_none_is_added():
    exempt = {**RESTRICT, "metadata": {"name": "exempt"}, "spec": {"type": "Exempt", "exempt": {}}}
    assert defaulted(exempt)["spec"]["exempt"] == {
        "nominalConcurrencyShares": 0,
        "lendablePercent": 0,
    }
    bare = {**exempt, "spec": {"type": "Exempt"}}
    assert defaulted(bare)["spec"] == {"type": "Exempt"}


def test_a_reject_level_gets_no_queuing():
    manifest = copy.deepcopy(RESTRICT)
    manifest["spec"]["limited"]["limitResponse"] = {"type": "Reject"}
    assert defaulted(manifest)["spec"]["limited"]["limitResponse"] == {"type": "Reject"}


def test_defaulting_twice_changes_nothing():
    once = defaulted(RESTRICT)
    assert defaulted({**RESTRICT, **once}) == once


def test_a_new_object_starts_without_status():
    kind = by_resource("flowschemas")
    fs = from_dict(
        kind.message,
        {**LIST_EVENTS, "status": {"conditions": [{"type": "Dangling", "status": "False"}]}},
    )
    strategy_for(kind).prepare_for_create(fs)
    assert not fs.HasField("status")


# ---- the docs' examples pass ----


@pytest.mark.parametrize(
    "manifest",
    [HEALTH_FOR_STRANGERS, LIST_EVENTS, RESTRICT],
    ids=lambda m: m["metadata"]["name"],
)
def test_the_kubernetes_docs_examples_are_valid(manifest):
    which = "fs" if manifest["kind"] == "FlowSchema" else "pl"
    kind = by_resource(RESOURCE[which])
    obj = from_dict(kind.message, manifest)
    strategy_for(kind).apply_defaults(obj)
    assert [str(e) for e in strategy_for(kind).problems(obj)] == []


# ---- FlowSchema rules ----

FLOW_SCHEMA_CASES = [
    (
        {"spec.matchingPrecedence": 10001},
        "spec.matchingPrecedence: Invalid value: 10001: must not be greater than 10000",
        "a precedence above 10000",
    ),
    (
        {"spec.matchingPrecedence": -5},
        "spec.matchingPrecedence: Invalid value: -5: must be a positive value",
        "a negative precedence",
    ),
    (
        {"spec.matchingPrecedence": 1},
        "spec.matchingPrecedence: Invalid value: 1: only the schema named 'exempt' may have "
        "matchingPrecedence 1",
        "precedence 1 for another schema than exempt",
    ),
    (
        {"spec.priorityLevelConfiguration": DELETE},
        "spec.priorityLevelConfiguration.name: Required value: must reference a priority level",
        "no priority level",
    ),
    (
        {"spec.priorityLevelConfiguration.name": "Not_A_Name"},
        f'spec.priorityLevelConfiguration.name: Invalid value: "Not_A_Name": {RFC1123_SUBDOMAIN}',
        "a priority level name that is no DNS subdomain",
    ),
    (
        {"spec.distinguisherMethod.type": "ByColour"},
        "spec.distinguisherMethod.type: Unsupported value: "
        'flowcontrol.FlowDistinguisherMethod{Type:"ByColour"}: supported values: '
        '"ByNamespace", "ByUser"',
        "an unknown distinguisher method",
    ),
    (
        {f"{RULE0}.subjects": []},
        f"{RULE0}.subjects: Required value: subjects must contain at least one value",
        "a rule without subjects",
    ),
    (
        {f"{RULE0}.resourceRules": []},
        f"{RULE0}: Required value: at least one of resourceRules and nonResourceRules has to "
        "be non-empty",
        "a rule without resource or non-resource rules",
    ),
    (
        {f"{SUBJECT0}.kind": "Robot"},
        f'{SUBJECT0}.kind: Unsupported value: "Robot": supported values: "Group", '
        '"ServiceAccount", "User"',
        "an unknown subject kind",
    ),
    (
        {f"{SUBJECT0}.kind": "User"},
        f"{SUBJECT0}.user: Required value: user is required when subject kind is 'User'",
        "a User subject without user",
    ),
    (
        {f"{SUBJECT0}.kind": "User"},
        f"{SUBJECT0}.serviceAccount: Forbidden: serviceAccount is forbidden when subject kind "
        "is not 'ServiceAccount'",
        "a User subject with a serviceAccount",
    ),
    (
        {SUBJECT0: {"kind": "Group", "group": {"name": "ops"}, "user": {"name": "ann"}}},
        f"{SUBJECT0}.user: Forbidden: user is forbidden when subject kind is not 'User'",
        "a Group subject with a user",
    ),
    (
        {SUBJECT0: {"kind": "Group"}},
        f"{SUBJECT0}.group: Required value: group is required when subject kind is 'Group'",
        "a Group subject without group",
    ),
    (
        {SUBJECT0: {"kind": "User", "user": {"name": ""}}},
        f"{SUBJECT0}.user.name: Required value",
        "a user without a name",
    ),
    (
        {SUBJECT0: {"kind": "Group", "group": {}}},
        f"{SUBJECT0}.group.name: Required value",
        "a group without a name",
    ),
    (
        {SUBJECT0: {"kind": "ServiceAccount", "group": {"name": "ops"}}},
        f"{SUBJECT0}.serviceAccount: Required value: serviceAccount is required when subject "
        "kind is 'ServiceAccount'",
        "a ServiceAccount subject without serviceAccount",
    ),
    (
        {f"{SUBJECT0}.serviceAccount.namespace": ""},
        f"{SUBJECT0}.serviceAccount.namespace: Required value: must specify namespace for "
        "service account",
        "a service account without a namespace",
    ),
    (
        {f"{SUBJECT0}.serviceAccount.name": ""},
        f"{SUBJECT0}.serviceAccount.name: Required value",
        "a service account without a name",
    ),
    (
        {f"{SUBJECT0}.serviceAccount.name": "Not_A_Name"},
        f'{SUBJECT0}.serviceAccount.name: Invalid value: "Not_A_Name": {RFC1123_SUBDOMAIN}',
        "a service account name that is no DNS subdomain",
    ),
    (
        {f"{RR0}.verbs": []},
        f"{RR0}.verbs: Required value: verbs must contain at least one value",
        "a resource rule without verbs",
    ),
    (
        {f"{RR0}.verbs": ["*", "create"]},
        f'{RR0}.verbs: Invalid value: []string{{"*", "create"}}: if \'*\' is present, must not '
        "specify other verbs",
        "a star verb beside another",
    ),
    (
        {f"{RR0}.verbs": ["feed"]},
        f'{RR0}.verbs: Unsupported value: []string{{"feed"}}: supported values: "create", '
        '"delete", "deletecollection", "get", "list", "patch", "proxy", "update", "watch"',
        "an unknown verb",
    ),
    (
        {f"{RR0}.apiGroups": []},
        f"{RR0}.apiGroups: Required value: resource rules must supply at least one api group",
        "a resource rule without api groups",
    ),
    (
        {f"{RR0}.apiGroups": ["*", "apps"]},
        f'{RR0}.apiGroups: Invalid value: []string{{"*", "apps"}}: if \'*\' is present, must '
        "not specify other api groups",
        "a star api group beside another",
    ),
    (
        {f"{RR0}.resources": []},
        f"{RR0}.resources: Required value: resource rules must supply at least one resource",
        "a resource rule without resources",
    ),
    (
        {f"{RR0}.resources": ["pods", "*"]},
        f'{RR0}.resources: Invalid value: []string{{"pods", "*"}}: if \'*\' is present, must '
        "not specify other resources",
        "a star resource beside another",
    ),
    (
        {f"{RR0}.namespaces": []},
        f"{RR0}.namespaces: Required value: resource rules that are not cluster scoped must "
        "supply at least one namespace",
        "a namespaced rule without namespaces",
    ),
    (
        {f"{RR0}.namespaces": ["default", "*"]},
        f'{RR0}.namespaces: Invalid value: []string{{"default", "*"}}: if \'*\' is present, '
        "must not specify other namespaces",
        "a star namespace beside another",
    ),
    (
        {f"{RR0}.namespaces": ["-foo"]},
        f"{RR0}.namespaces[0]: Invalid value: \"-foo\": each member of this list must be '*' "
        f"or a DNS-1123 label; {RFC1123_LABEL}",
        "a namespace that is no DNS label",
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [pytest.param(c, e, id=name) for c, e, name in FLOW_SCHEMA_CASES],
)
def test_a_flow_schema_is_refused_in_kubernetes_words(changes, expected):
    assert_named(errors("fs", changes), expected)


def test_a_cluster_scoped_rule_needs_no_namespaces():
    assert errors("fs", {f"{RR0}.namespaces": [], f"{RR0}.clusterScope": True}) == []


NRR0 = f"{RULE0}.nonResourceRules[0]"
NON_RESOURCE = {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        pytest.param(["healthz"], 'Invalid value: "healthz": must start with slash', id="no-slash"),
        pytest.param([""], 'Invalid value: "": must not be empty', id="empty"),
        pytest.param(["//"], 'Invalid value: "//": must not contain double slash', id="double"),
        pytest.param(
            ["/foo bar"], 'Invalid value: "/foo bar": must not contain white-space', id="space"
        ),
        pytest.param(
            ["/health*"],
            'Invalid value: "/health*": wildcard can only do suffix matching',
            id="star-inside-a-segment",
        ),
        pytest.param(
            ["/healthz/*/foo"],
            'Invalid value: "/healthz/*/foo": wildcard can only do suffix matching',
            id="star-not-last",
        ),
    ],
)
def test_a_non_resource_url_is_a_path_or_a_prefix_ending_in_slash_star(urls, expected):
    found = errors("fs", {f"{RULE0}.nonResourceRules": [{**NON_RESOURCE, "nonResourceURLs": urls}]})
    assert_named(found, f"{NRR0}.nonResourceURLs[0]: {expected}")


def test_star_and_prefixes_and_the_root_are_good_non_resource_urls():
    for urls in (["*"], ["/"], ["/apis/*", "/healthz"]):
        rule = {**NON_RESOURCE, "nonResourceURLs": urls}
        assert errors("fs", {f"{RULE0}.nonResourceRules": [rule]}) == [], urls


def test_a_star_url_beside_another_is_refused():
    rule = {**NON_RESOURCE, "nonResourceURLs": ["*", "/tik"]}
    assert_named(
        errors("fs", {f"{RULE0}.nonResourceRules": [rule]}),
        f'{NRR0}.nonResourceURLs: Invalid value: []string{{"*", "/tik"}}: if \'*\' is present, '
        "must not specify other non-resource URLs",
    )


def test_a_non_resource_rule_needs_verbs_and_urls():
    found = errors("fs", {f"{RULE0}.nonResourceRules": [{}]})
    assert_named(found, f"{NRR0}.verbs: Required value: verbs must contain at least one value")
    assert_named(
        found,
        f"{NRR0}.nonResourceURLs: Required value: nonResourceURLs must contain at least one value",
    )


MANDATORY_EXEMPT: dict[str, Any] = {
    "matchingPrecedence": 1,
    "priorityLevelConfiguration": {"name": "exempt"},
    "rules": [
        {
            "subjects": [{"kind": "Group", "group": {"name": "system:masters"}}],
            "resourceRules": [
                {
                    "verbs": ["*"],
                    "apiGroups": ["*"],
                    "resources": ["*"],
                    "clusterScope": True,
                    "namespaces": ["*"],
                }
            ],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        }
    ],
}


def test_the_exempt_schema_may_have_precedence_1_but_only_its_fixed_spec():
    assert errors("fs", {"spec": copy.deepcopy(MANDATORY_EXEMPT)}, name="exempt") == []
    changed = copy.deepcopy(MANDATORY_EXEMPT)
    changed["rules"][0]["nonResourceRules"][0]["nonResourceURLs"] = ["/"]
    found = errors("fs", {"spec": changed}, name="exempt")
    assert len(found) == 1
    assert found[0].startswith("spec: Invalid value: ")
    assert found[0].endswith(": spec of 'exempt' must equal the fixed value")


def test_the_catch_all_schema_keeps_its_fixed_spec():
    found = errors("fs", name="catch-all")
    assert_named(found, "spec of 'catch-all' must equal the fixed value")


@pytest.mark.parametrize("which", ["fs", "pl"])
def test_status_conditions_need_a_type_and_a_type_only_once(which):
    conditions = [{"type": "Dangling", "status": "False"}, {"type": "Dangling"}, {"type": ""}]
    found = errors(which, {"status": {"conditions": conditions}})
    assert_named(found, 'status.conditions[1].type: Duplicate value: "Dangling"')
    assert_named(found, "status.conditions[2].type: Required value: must not be empty")


# ---- PriorityLevelConfiguration rules ----

LEVEL_CASES = [
    (
        {"spec.type": "Unlimited"},
        'spec.type: Unsupported value: "Unlimited": supported values: "Exempt", "Limited"',
        "an unknown type",
    ),
    (
        {"spec.type": "Exempt"},
        "spec.type: Invalid value: \"Exempt\": type must be 'Exempt' if and only if name is "
        "'exempt'",
        "type Exempt for a level not named exempt",
    ),
    (
        {"spec.type": "Exempt"},
        "spec.limited: Forbidden: must be nil if the type is not Limited",
        "an Exempt level with limited",
    ),
    (
        {"spec.exempt": {}},
        "spec.exempt: Forbidden: must be nil if the type is Limited",
        "a Limited level with exempt",
    ),
    (
        {"spec.limited": DELETE},
        "spec.limited: Required value: must not be empty when type is Limited",
        "a Limited level without limited",
    ),
    (
        {"spec.limited.nominalConcurrencyShares": -1},
        "spec.limited.nominalConcurrencyShares: Invalid value: -1: must be a non-negative integer",
        "negative shares",
    ),
    (
        {"spec.limited.lendablePercent": 101},
        "spec.limited.lendablePercent: Invalid value: 101: must be between 0 and 100, inclusive",
        "lending more than everything",
    ),
    (
        {"spec.limited.lendablePercent": -1},
        "spec.limited.lendablePercent: Invalid value: -1: must be between 0 and 100, inclusive",
        "lending less than nothing",
    ),
    (
        {"spec.limited.borrowingLimitPercent": -1},
        "spec.limited.borrowingLimitPercent: Invalid value: -1: if specified, must be a "
        "non-negative integer",
        "a negative borrowing limit",
    ),
    (
        {"spec.limited.limitResponse.type": "Drop"},
        'spec.limited.limitResponse.type: Unsupported value: "Drop": supported values: '
        '"Queue", "Reject"',
        "an unknown limit response",
    ),
    (
        {"spec.limited.limitResponse.type": "Reject"},
        f"{QUEUING}: Forbidden: must be nil if limited.limitResponse.type is not Limited",
        "queuing for a Reject response",
    ),
    (
        {"spec.limited.limitResponse.queuing": DELETE},
        f"{QUEUING}: Required value: must not be empty if limited.limitResponse.type is Limited",
        "a Queue response without queuing",
    ),
    (
        {f"{QUEUING}.queues": -1},
        f"{QUEUING}.queues: Invalid value: -1: must be positive",
        "negative queues",
    ),
    (
        {f"{QUEUING}.queues": 10 * 1000 * 1000 + 1, f"{QUEUING}.handSize": 1},
        f"{QUEUING}.queues: Invalid value: 10000001: must not be greater than 10000000",
        "more than ten million queues",
    ),
    (
        {f"{QUEUING}.handSize": -2},
        f"{QUEUING}.handSize: Invalid value: -2: must be positive",
        "a negative hand",
    ),
    (
        {f"{QUEUING}.queueLengthLimit": -3},
        f"{QUEUING}.queueLengthLimit: Invalid value: -3: must be positive",
        "a negative queue length",
    ),
    (
        {f"{QUEUING}.queues": 7, f"{QUEUING}.handSize": 8},
        f"{QUEUING}.handSize: Invalid value: 8: should not be greater than queues (7)",
        "a hand larger than the deck",
    ),
    (
        {f"{QUEUING}.queues": 512, f"{QUEUING}.handSize": 8},
        f"{QUEUING}.handSize: Invalid value: 8: required entropy bits of deckSize 512 and "
        "handSize 8 should not be greater than 60",
        "hands needing more than 60 hash bits",
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [pytest.param(c, e, id=name) for c, e, name in LEVEL_CASES],
)
def test_a_priority_level_is_refused_in_kubernetes_words(changes, expected):
    assert_named(errors("pl", changes), expected)


def test_ten_million_queues_with_hands_of_two_fit_in_60_bits():
    assert errors("pl", {f"{QUEUING}.queues": 10**7, f"{QUEUING}.handSize": 2}) == []


def test_the_exempt_level_must_be_exempt_and_may_tune_only_its_exempt_part():
    tuned = {"type": "Exempt", "exempt": {"nominalConcurrencyShares": 10, "lendablePercent": 20}}
    assert errors("pl", {"spec": tuned}, name="exempt") == []
    found = errors("pl", name="exempt")
    assert_named(
        found,
        "spec.type: Invalid value: \"Limited\": type must be 'Exempt' if and only if name is "
        "'exempt'",
    )
    assert_named(
        found, "spec of 'exempt' except the 'spec.exempt' field must equal the fixed value"
    )


def test_the_exempt_levels_exempt_part_is_still_checked():
    bad = {"type": "Exempt", "exempt": {"nominalConcurrencyShares": -1, "lendablePercent": 101}}
    found = errors("pl", {"spec": bad}, name="exempt")
    assert_named(
        found, "spec.exempt.nominalConcurrencyShares: Invalid value: -1: must be a non-negative"
    )
    assert_named(
        found, "spec.exempt.lendablePercent: Invalid value: 101: must be between 0 and 100"
    )


def test_the_catch_all_level_keeps_its_fixed_reject_spec():
    fixed = {
        "type": "Limited",
        "limited": {"nominalConcurrencyShares": 5, "limitResponse": {"type": "Reject"}},
    }
    assert errors("pl", {"spec": fixed}, name="catch-all") == []
    assert_named(errors("pl", name="catch-all"), "spec of 'catch-all' must equal the fixed value")

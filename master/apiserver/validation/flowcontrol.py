"""FlowSchemas and PriorityLevelConfigurations (flowcontrol.apiserver.k8s.io/v1), checked
as Kubernetes' pkg/apis/flowcontrol/validation (v1.32) checks them.

The rules, their order and their words are Kubernetes', since kubectl users meet these
messages and search for them: a schema's precedence (1..10000, 1 only for `exempt`), its
priority level's name, its distinguisher, its rules (subjects of the kind they name with
only that member, resource rules with "*" standing alone, non-resource URLs that start
with "/" and end in "/*" at most); a level's type with only its own member, lendable and
borrowing percentages, a limit response that queues only when it says Queue, and queues
whose hands carry no more entropy than the 60 hash bits a flow's hash gives the
shuffle-sharding dealer. Zero nominalConcurrencyShares is valid for a Limited level, as
in v1 (the ZeroLimitedNominalConcurrencyShares gate is GA since 1.30).

Values are printed as kube-apiserver prints them (Go's `%#v` for string slices and
structs, the internal type's name included), since that is the message kubectl shows.
The one exception is the whole spec of a mandatory object that differs from its fixed
value: Go prints it with pointer addresses, which nobody could compare, so it is shown
here as its JSON.

The mandatory objects (`exempt` and `catch-all`, each a FlowSchema and a priority level)
must keep the specs every kube-apiserver writes for them, so that a cluster always has a
level for exempt requests and a last schema that catches every request: their fixed specs
(after defaults) are MANDATORY_FLOW_SCHEMAS and MANDATORY_PRIORITY_LEVELS below, and the
exempt level's `spec.exempt` alone may be changed by its users.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from client.codec import from_dict, to_dict
from client.names import is_dns1123_label, is_dns1123_subdomain
from master.apiserver.flowcontrol import bootstrap
from master.apiserver.validation.errors import Errors, child, index
from proto import flowcontrol_pb2

__all__ = [
    "MANDATORY_FLOW_SCHEMAS",
    "MANDATORY_PRIORITY_LEVELS",
    "MAX_HASH_BITS",
    "MAX_MATCHING_PRECEDENCE",
    "MAX_QUEUES",
    "required_entropy_bits",
    "validate_flow_schema",
    "validate_flow_schema_status",
    "validate_priority_level_configuration",
    "validate_priority_level_configuration_status",
]

MAX_MATCHING_PRECEDENCE = 10000
"""FlowSchemaMaxMatchingPrecedence: the catch-all schema's, matched last."""
MAX_QUEUES = 10 * 1000 * 1000
"""priorityLevelConfigurationQueuingMaxQueues (10^7)."""
MAX_HASH_BITS = 60
"""shufflesharding.MaxHashBits: the bits of a flow's hash a hand may use."""

EXEMPT = bootstrap.EXEMPT
CATCH_ALL = bootstrap.CATCH_ALL

_DISTINGUISHERS = ("ByNamespace", "ByUser")
_SUBJECT_KINDS = ("Group", "ServiceAccount", "User")
_LEVEL_TYPES = ("Exempt", "Limited")
_LIMIT_RESPONSES = ("Queue", "Reject")
_VERBS = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "proxy",
    "update",
    "watch",
)
"""supportedVerbs, sorted as Kubernetes lists them in its message."""
_NS_INTRO = "each member of this list must be '*' or a DNS-1123 label; "

MANDATORY_FLOW_SCHEMAS: dict[str, flowcontrol_pb2.FlowSchemaSpec] = {
    made["metadata"]["name"]: from_dict(flowcontrol_pb2.FlowSchemaSpec, made["spec"])
    for made in bootstrap.mandatory_schemas()
}
"""The fixed specs of the mandatory FlowSchemas, as every API server writes them."""

MANDATORY_PRIORITY_LEVELS: dict[str, flowcontrol_pb2.PriorityLevelConfigurationSpec] = {
    made["metadata"]["name"]: from_dict(
        flowcontrol_pb2.PriorityLevelConfigurationSpec, made["spec"]
    )
    for made in bootstrap.mandatory_levels()
}
"""The fixed specs, defaulted, of the mandatory priority levels."""


def _go_strings(values: Iterable[str]) -> str:
    """A string slice as Go's `%#v` prints it: `[]string{"*", "create"}`."""
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def _invalid_list(errs: Errors, path: str, values: Sequence[str], detail: str) -> None:
    errs.add(path, f"Invalid value: {_go_strings(values)}: {detail}")


def _unsupported_list(
    errs: Errors, path: str, values: Sequence[str], supported: Iterable[str]
) -> None:
    listed = ", ".join(json.dumps(s) for s in supported)
    errs.add(path, f"Unsupported value: {_go_strings(values)}: supported values: {listed}")


def required_entropy_bits(deck_size: int, hand_size: int) -> int:
    """shufflesharding.RequiredEntropyBits: the hash bits dealing such hands needs."""
    return math.ceil(math.log2(deck_size) * hand_size)


# ---- FlowSchema ----


def validate_flow_schema(errs: Errors, fs: flowcontrol_pb2.FlowSchema) -> None:
    """ValidateFlowSchema (metadata is checked generically): spec, fixed spec, status."""
    _flow_schema_spec(errs, fs.metadata.name, fs.spec, "spec")
    fixed = MANDATORY_FLOW_SCHEMAS.get(fs.metadata.name)
    if fixed is not None and fs.spec != fixed:
        errs.invalid(
            "spec", to_dict(fs.spec), f"spec of '{fs.metadata.name}' must equal the fixed value"
        )
    validate_flow_schema_status(errs, fs.status)


def _flow_schema_spec(
    errs: Errors, name: str, spec: flowcontrol_pb2.FlowSchemaSpec, path: str
) -> None:
    precedence = child(path, "matchingPrecedence")
    if spec.matching_precedence <= 0:
        errs.invalid(precedence, spec.matching_precedence, "must be a positive value")
    if spec.matching_precedence > MAX_MATCHING_PRECEDENCE:
        errs.invalid(
            precedence,
            spec.matching_precedence,
            f"must not be greater than {MAX_MATCHING_PRECEDENCE}",
        )
    if spec.matching_precedence == 1 and name != EXEMPT:
        errs.invalid(precedence, 1, "only the schema named 'exempt' may have matchingPrecedence 1")
    if spec.HasField("distinguisher_method"):
        kind = spec.distinguisher_method.type
        if kind not in _DISTINGUISHERS:
            # Kubernetes reports the whole method struct, not its type.
            listed = ", ".join(json.dumps(s) for s in _DISTINGUISHERS)
            errs.add(
                child(child(path, "distinguisherMethod"), "type"),
                f"Unsupported value: flowcontrol.FlowDistinguisherMethod{{Type:{json.dumps(kind)}}}"
                f": supported values: {listed}",
            )
    level = child(child(path, "priorityLevelConfiguration"), "name")
    errs.syntax(
        level,
        spec.priority_level_configuration.name,
        is_dns1123_subdomain,
        detail="must reference a priority level",
    )
    for i, rule in enumerate(spec.rules):
        _rules_with_subjects(errs, rule, index(child(path, "rules"), i))


def _rules_with_subjects(
    errs: Errors, rule: flowcontrol_pb2.PolicyRulesWithSubjects, path: str
) -> None:
    if rule.subjects:
        for i, subject in enumerate(rule.subjects):
            _subject(errs, subject, index(child(path, "subjects"), i))
    else:
        errs.required(child(path, "subjects"), "subjects must contain at least one value")
    if not rule.resource_rules and not rule.non_resource_rules:
        errs.required(
            path, "at least one of resourceRules and nonResourceRules has to be non-empty"
        )
    for i, resource_rule in enumerate(rule.resource_rules):
        _resource_rule(errs, resource_rule, index(child(path, "resourceRules"), i))
    for i, url_rule in enumerate(rule.non_resource_rules):
        _non_resource_rule(errs, url_rule, index(child(path, "nonResourceRules"), i))


_NOT_USER = ("user", "user is forbidden when subject kind is not 'User'")
_NOT_GROUP = ("group", "group is forbidden when subject kind is not 'Group'")
_NOT_SERVICE_ACCOUNT = (
    "serviceAccount",
    "serviceAccount is forbidden when subject kind is not 'ServiceAccount'",
)
_MEMBERS = {"user": "user", "group": "group", "serviceAccount": "service_account"}


def _subject(errs: Errors, subject: flowcontrol_pb2.Subject, path: str) -> None:
    """The member `kind` names must be there, and no other."""
    if subject.kind == "ServiceAccount":
        _service_account_subject(errs, subject, child(path, "serviceAccount"))
        others = (_NOT_USER, _NOT_GROUP)
    elif subject.kind == "User":
        _named_subject(errs, subject, "user", child(path, "user"))
        others = (_NOT_SERVICE_ACCOUNT, _NOT_GROUP)
    elif subject.kind == "Group":
        _named_subject(errs, subject, "group", child(path, "group"))
        others = (_NOT_SERVICE_ACCOUNT, _NOT_USER)
    else:
        errs.unsupported(child(path, "kind"), subject.kind, _SUBJECT_KINDS)
        return
    for member, detail in others:
        if subject.HasField(_MEMBERS[member]):
            errs.forbidden(child(path, member), detail)


def _named_subject(errs: Errors, subject: flowcontrol_pb2.Subject, member: str, path: str) -> None:
    if not subject.HasField(member):
        errs.required(path, f"{member} is required when subject kind is '{subject.kind}'")
        return
    if not getattr(subject, member).name:
        errs.required(child(path, "name"))


def _service_account_subject(errs: Errors, subject: flowcontrol_pb2.Subject, path: str) -> None:
    if not subject.HasField("service_account"):
        errs.required(path, "serviceAccount is required when subject kind is 'ServiceAccount'")
        return
    account = subject.service_account
    if not account.name:
        errs.required(child(path, "name"))
    elif account.name != "*":
        errs.invalid_each(child(path, "name"), account.name, is_dns1123_subdomain(account.name))
    errs.syntax(
        child(path, "namespace"),
        account.namespace,
        is_dns1123_label,
        detail="must specify namespace for service account",
    )


def _names_or_star(
    errs: Errors, path: str, values: Sequence[str], plural: str, *, required: str | None
) -> bool:
    """Kubernetes' rule for a list that "*" may stand for: an empty one is Required (with
    the message `required`; None where it may be empty), and a "*" must stand alone. True
    when the values are named one by one, for the caller to check each."""
    if not values:
        if required is not None:
            errs.required(path, required)
        return False
    if "*" in values:
        if len(values) > 1:
            _invalid_list(errs, path, values, f"if '*' is present, must not specify other {plural}")
        return False
    return True


def _verbs(errs: Errors, verbs: Sequence[str], path: str) -> None:
    required = "verbs must contain at least one value"
    named = _names_or_star(errs, path, verbs, "verbs", required=required)
    if named and not set(verbs) <= set(_VERBS):
        _unsupported_list(errs, path, verbs, _VERBS)


def _resource_rule(errs: Errors, rule: flowcontrol_pb2.ResourcePolicyRule, path: str) -> None:
    _verbs(errs, rule.verbs, child(path, "verbs"))
    for field, values, (one, many) in (
        ("apiGroups", rule.api_groups, ("api group", "api groups")),
        ("resources", rule.resources, ("resource", "resources")),
    ):
        at_least_one = f"resource rules must supply at least one {one}"
        _names_or_star(errs, child(path, field), values, many, required=at_least_one)
    namespaces = child(path, "namespaces")
    unscoped = "resource rules that are not cluster scoped must supply at least one namespace"
    required = None if rule.cluster_scope else unscoped
    if _names_or_star(errs, namespaces, rule.namespaces, "namespaces", required=required):
        for i, ns in enumerate(rule.namespaces):
            for message in is_dns1123_label(ns):
                errs.invalid(index(namespaces, i), ns, _NS_INTRO + message)


def _non_resource_rule(
    errs: Errors, rule: flowcontrol_pb2.NonResourcePolicyRule, path: str
) -> None:
    _verbs(errs, rule.verbs, child(path, "verbs"))
    urls = child(path, "nonResourceURLs")
    required = "nonResourceURLs must contain at least one value"
    if _names_or_star(errs, urls, rule.non_resource_urls, "non-resource URLs", required=required):
        for i, url in enumerate(rule.non_resource_urls):
            problem = _url_problem(url)
            if problem:
                errs.invalid(index(urls, i), url, problem)


def _url_problem(path: str) -> str:
    """ValidateNonResourceURLPath: what is wrong with a non-resource URL ("" if nothing).

    A "*" only ends a path, after a slash: it matches everything below (slashes too)."""
    if not path:
        return "must not be empty"
    if path == "/":
        return ""
    if not path.startswith("/"):
        return "must start with slash"
    if " " in path:
        return "must not contain white-space"
    if "//" in path:
        return "must not contain double slash"
    stars = path.count("*")
    if stars > 1 or (stars == 1 and not path.endswith("/*")):
        return "wildcard can only do suffix matching"
    return ""


def validate_flow_schema_status(errs: Errors, status: flowcontrol_pb2.FlowSchemaStatus) -> None:
    """Conditions with a type each, no type twice."""
    _conditions(errs, status.conditions)


def _conditions(errs: Errors, conditions: Iterable[Any]) -> None:
    seen: set[str] = set()
    path = child("status", "conditions")
    for i, condition in enumerate(conditions):
        if condition.type in seen:
            errs.duplicate(child(index(path, i), "type"), condition.type)
        seen.add(condition.type)
        if not condition.type:
            errs.required(child(index(path, i), "type"), "must not be empty")


# ---- PriorityLevelConfiguration ----


def validate_priority_level_configuration(
    errs: Errors, pl: flowcontrol_pb2.PriorityLevelConfiguration
) -> None:
    """ValidatePriorityLevelConfiguration (metadata is checked generically)."""
    name = pl.metadata.name
    _level_spec(errs, pl.spec, name, "spec")
    _mandatory_level(errs, pl.spec, name)
    validate_priority_level_configuration_status(errs, pl.status)


def _mandatory_level(
    errs: Errors, spec: flowcontrol_pb2.PriorityLevelConfigurationSpec, name: str
) -> None:
    fixed = MANDATORY_PRIORITY_LEVELS.get(name)
    if fixed is None:
        return
    if name == EXEMPT:
        # The exempt level's users may tune its `exempt` part; the rest stays fixed.
        have = flowcontrol_pb2.PriorityLevelConfigurationSpec()
        have.CopyFrom(spec)
        have.exempt.CopyFrom(fixed.exempt)
        if have != fixed:
            errs.invalid(
                "spec",
                to_dict(spec),
                f"spec of '{name}' except the 'spec.exempt' field must equal the fixed value",
            )
        return
    if spec != fixed:
        errs.invalid("spec", to_dict(spec), f"spec of '{name}' must equal the fixed value")


def _level_spec(
    errs: Errors, spec: flowcontrol_pb2.PriorityLevelConfigurationSpec, name: str, path: str
) -> None:
    if (name == EXEMPT) != (spec.type == "Exempt"):
        errs.invalid(
            child(path, "type"), spec.type, "type must be 'Exempt' if and only if name is 'exempt'"
        )
    if spec.type == "Exempt":
        if spec.HasField("limited"):
            errs.forbidden(child(path, "limited"), "must be nil if the type is not Limited")
        if spec.HasField("exempt"):
            _exempt(errs, spec.exempt, child(path, "exempt"))
    elif spec.type == "Limited":
        if spec.HasField("exempt"):
            errs.forbidden(child(path, "exempt"), "must be nil if the type is Limited")
        if not spec.HasField("limited"):
            errs.required(child(path, "limited"), "must not be empty when type is Limited")
        else:
            _limited(errs, spec.limited, child(path, "limited"))
    else:
        errs.unsupported(child(path, "type"), spec.type, _LEVEL_TYPES)


def _percent(errs: Errors, message: Any, field: str, path: str) -> None:
    """lendablePercent, when set: 0..100."""
    if message.HasField(field):
        value = getattr(message, field)
        if not 0 <= value <= 100:
            errs.invalid(path, value, "must be between 0 and 100, inclusive")


def _exempt(
    errs: Errors, exempt: flowcontrol_pb2.ExemptPriorityLevelConfiguration, path: str
) -> None:
    if exempt.HasField("nominal_concurrency_shares") and exempt.nominal_concurrency_shares < 0:
        errs.invalid(
            child(path, "nominalConcurrencyShares"),
            exempt.nominal_concurrency_shares,
            "must be a non-negative integer",
        )
    _percent(errs, exempt, "lendable_percent", child(path, "lendablePercent"))


def _limited(
    errs: Errors, limited: flowcontrol_pb2.LimitedPriorityLevelConfiguration, path: str
) -> None:
    # Defaults give an unset share count 30, so only a negative one is left to refuse.
    if limited.nominal_concurrency_shares < 0:
        errs.invalid(
            child(path, "nominalConcurrencyShares"),
            limited.nominal_concurrency_shares,
            "must be a non-negative integer",
        )
    _limit_response(errs, limited.limit_response, child(path, "limitResponse"))
    _percent(errs, limited, "lendable_percent", child(path, "lendablePercent"))
    if limited.HasField("borrowing_limit_percent") and limited.borrowing_limit_percent < 0:
        errs.invalid(
            child(path, "borrowingLimitPercent"),
            limited.borrowing_limit_percent,
            "if specified, must be a non-negative integer",
        )


def _limit_response(errs: Errors, response: flowcontrol_pb2.LimitResponse, path: str) -> None:
    # "is not Limited" / "is Limited" are Kubernetes' words, though they mean Queue.
    queuing = child(path, "queuing")
    if response.type == "Reject":
        if response.HasField("queuing"):
            errs.forbidden(queuing, "must be nil if limited.limitResponse.type is not Limited")
    elif response.type == "Queue":
        if not response.HasField("queuing"):
            errs.required(queuing, "must not be empty if limited.limitResponse.type is Limited")
        else:
            _queuing(errs, response.queuing, queuing)
    else:
        errs.unsupported(child(path, "type"), response.type, _LIMIT_RESPONSES)


def _queuing(errs: Errors, q: flowcontrol_pb2.QueuingConfiguration, path: str) -> None:
    if q.queue_length_limit <= 0:
        errs.invalid(child(path, "queueLengthLimit"), q.queue_length_limit, "must be positive")
    if q.queues <= 0:
        errs.invalid(child(path, "queues"), q.queues, "must be positive")
    elif q.queues > MAX_QUEUES:
        errs.invalid(child(path, "queues"), q.queues, f"must not be greater than {MAX_QUEUES}")
    hand = child(path, "handSize")
    if q.hand_size <= 0:
        errs.invalid(hand, q.hand_size, "must be positive")
    elif q.hand_size > q.queues:
        errs.invalid(hand, q.hand_size, f"should not be greater than queues ({q.queues})")
    elif required_entropy_bits(q.queues, q.hand_size) > MAX_HASH_BITS:
        errs.invalid(
            hand,
            q.hand_size,
            f"required entropy bits of deckSize {q.queues} and handSize {q.hand_size} "
            f"should not be greater than {MAX_HASH_BITS}",
        )


def validate_priority_level_configuration_status(
    errs: Errors, status: flowcontrol_pb2.PriorityLevelConfigurationStatus
) -> None:
    """Conditions with a type each, no type twice."""
    _conditions(errs, status.conditions)

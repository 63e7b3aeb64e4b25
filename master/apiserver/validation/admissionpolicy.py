"""ValidatingAdmissionPolicies and their bindings, checked as Kubernetes' admissionregistration
validation does (v1), in its words.

Every CEL expression is compiled here (admission/cel.py), so a policy whose rule cannot
run is refused at create naming the expression, not discovered at the first write it
should have guarded.
"""

from __future__ import annotations

from collections.abc import Iterable

from master.apiserver.admission.cel import compile_error
from master.apiserver.admission.matching import Rule
from master.apiserver.validation.errors import Errors, index
from master.apiserver.validation.meta import validate_label_selector
from proto import admissionregistration_pb2 as ar

OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
FAILURE_POLICIES = ("Fail", "Ignore")
SCOPES = ("*", "Cluster", "Namespaced")
ACTIONS = ("Audit", "Deny", "Warn")
NOT_FOUND_ACTIONS = ("Allow", "Deny")
MATCH_POLICIES = ("Equivalent", "Exact")
RULE_FIELDS = (
    ("operations", "operations"),
    ("api_groups", "apiGroups"),
    ("api_versions", "apiVersions"),
    ("resources", "resources"),
)
REASONS = ("Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge")


def _expression(errs: Errors, path: str, text: str) -> None:
    if not text:
        errs.required(path, "expression is not specified")
        return
    problem = compile_error(text)
    if problem:
        errs.invalid(path, text, problem)


def named_expressions(
    errs: Errors, path: str, items: Iterable[ar.MatchCondition | ar.Variable]
) -> None:
    """Items with a name unique among them and a CEL expression that compiles."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        at = index(path, i)
        if not item.name:
            errs.required(f"{at}.name")
        elif item.name in seen:
            errs.duplicate(f"{at}.name", item.name)
        seen.add(item.name)
        _expression(errs, f"{at}.expression", item.expression)


def validate_rules(
    errs: Errors,
    path: str,
    rules: Iterable[Rule],
) -> None:
    """Rules (a policy's, a webhook's): every list given, known operations and scope."""
    for i, rule in enumerate(rules):
        at = index(path, i)
        for field, name in RULE_FIELDS:
            if not getattr(rule, field):
                errs.required(f"{at}.{name}")
        for j, op in enumerate(rule.operations):
            if op not in OPERATIONS:
                errs.unsupported(index(f"{at}.operations", j), op, OPERATIONS)
        if rule.HasField("scope") and rule.scope not in SCOPES:
            errs.unsupported(f"{at}.scope", rule.scope, SCOPES)


def _match(errs: Errors, path: str, match: ar.MatchResources, *, rules_required: bool) -> None:
    if match.HasField("namespace_selector"):
        validate_label_selector(errs, match.namespace_selector, f"{path}.namespaceSelector")
    if match.HasField("object_selector"):
        validate_label_selector(errs, match.object_selector, f"{path}.objectSelector")
    if rules_required and not match.resource_rules:
        errs.required(f"{path}.resourceRules")
    validate_rules(errs, f"{path}.resourceRules", match.resource_rules)
    validate_rules(errs, f"{path}.excludeResourceRules", match.exclude_resource_rules)
    if match.HasField("match_policy") and match.match_policy not in MATCH_POLICIES:
        errs.unsupported(f"{path}.matchPolicy", match.match_policy, MATCH_POLICIES)


def validate_policy(errs: Errors, policy: ar.ValidatingAdmissionPolicy) -> None:
    spec = policy.spec
    if spec.HasField("failure_policy") and spec.failure_policy not in FAILURE_POLICIES:
        errs.unsupported("spec.failurePolicy", spec.failure_policy, FAILURE_POLICIES)
    if spec.HasField("param_kind"):
        if not spec.param_kind.kind:
            errs.required("spec.paramKind.kind")
        if not spec.param_kind.api_version:
            errs.required("spec.paramKind.apiVersion")
    if not spec.HasField("match_constraints"):
        errs.required("spec.matchConstraints")
    else:
        _match(errs, "spec.matchConstraints", spec.match_constraints, rules_required=True)
    if not spec.validations and not spec.audit_annotations:
        errs.required(
            "spec.validations", "validations or auditAnnotations must contain at least one item"
        )
    for i, v in enumerate(spec.validations):
        at = index("spec.validations", i)
        _expression(errs, f"{at}.expression", v.expression)
        if v.message_expression:
            _expression(errs, f"{at}.messageExpression", v.message_expression)
        if v.HasField("reason") and v.reason not in REASONS:
            errs.unsupported(f"{at}.reason", v.reason, REASONS)
    for i, a in enumerate(spec.audit_annotations):
        at = index("spec.auditAnnotations", i)
        if not a.key:
            errs.required(f"{at}.key")
        _expression(errs, f"{at}.valueExpression", a.value_expression)
    named_expressions(errs, "spec.matchConditions", spec.match_conditions)
    named_expressions(errs, "spec.variables", spec.variables)


def validate_binding(errs: Errors, binding: ar.ValidatingAdmissionPolicyBinding) -> None:
    spec = binding.spec
    if not spec.policy_name:
        errs.required("spec.policyName")
    actions = list(spec.validation_actions)
    if not actions:
        errs.required("spec.validationActions", "at least one validation action is required")
    seen: set[str] = set()
    for i, action in enumerate(actions):
        at = index("spec.validationActions", i)
        if action in seen:
            errs.duplicate(at, action)
        elif action not in ACTIONS:
            errs.unsupported(at, action, ACTIONS)
        seen.add(action)
    if {"Deny", "Warn"} <= seen:
        errs.invalid("spec.validationActions", actions, "must not contain both Deny and Warn")
    if spec.HasField("param_ref"):
        ref = spec.param_ref
        if ref.name and ref.HasField("selector"):
            errs.forbidden("spec.paramRef.name", "name and selector are mutually exclusive")
        elif not ref.name and not ref.HasField("selector"):
            errs.required("spec.paramRef", "one of name or selector must be specified")
        if ref.HasField("selector"):
            validate_label_selector(errs, ref.selector, "spec.paramRef.selector")
        if (
            ref.HasField("parameter_not_found_action")
            and ref.parameter_not_found_action not in NOT_FOUND_ACTIONS
        ):
            errs.unsupported(
                "spec.paramRef.parameterNotFoundAction",
                ref.parameter_not_found_action,
                NOT_FOUND_ACTIONS,
            )
    if spec.HasField("match_resources"):
        _match(errs, "spec.matchResources", spec.match_resources, rules_required=False)

"""ValidatingAdmissionPolicies: defaulted as admissionregistration/v1 does (failurePolicy
Fail, empty selectors, matchPolicy Equivalent, rule scope `*`), every CEL expression
compiled at validation; the status is the server's, so a create starts without one."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import admissionpolicy
from master.apiserver.validation.errors import Errors


def default_match(match: Any) -> None:
    """A MatchResources' defaults (shared with bindings)."""
    match.namespace_selector.SetInParent()
    match.object_selector.SetInParent()
    if not match.HasField("match_policy"):
        match.match_policy = "Equivalent"
    for rule in [*match.resource_rules, *match.exclude_resource_rules]:
        if not rule.HasField("scope"):
            rule.scope = "*"


class ValidatingAdmissionPolicyStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        obj.ClearField("status")

    def default(self, obj: Any) -> None:
        spec = obj.spec
        if not spec.HasField("failure_policy"):
            spec.failure_policy = "Fail"
        if spec.HasField("match_constraints"):
            default_match(spec.match_constraints)

    def validate(self, errs: Errors, obj: Any) -> None:
        admissionpolicy.validate_policy(errs, obj)


STRATEGY = ValidatingAdmissionPolicyStrategy(by_resource("validatingadmissionpolicies"))

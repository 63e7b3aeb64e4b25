"""ValidatingAdmissionPolicyBindings: defaulted as admissionregistration/v1 does (a
paramRef's parameterNotFoundAction is Deny; matchResources as a policy's)."""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.strategies.validatingadmissionpolicy import default_match
from master.apiserver.validation import admissionpolicy
from master.apiserver.validation.errors import Errors


class ValidatingAdmissionPolicyBindingStrategy(Strategy):
    def default(self, obj: Any) -> None:
        spec = obj.spec
        if spec.HasField("param_ref") and not spec.param_ref.HasField("parameter_not_found_action"):
            spec.param_ref.parameter_not_found_action = "Deny"
        if spec.HasField("match_resources"):
            default_match(spec.match_resources)

    def validate(self, errs: Errors, obj: Any) -> None:
        admissionpolicy.validate_binding(errs, obj)


STRATEGY = ValidatingAdmissionPolicyBindingStrategy(
    by_resource("validatingadmissionpolicybindings")
)

"""ValidatingAdmissionPolicy: the CEL rules that bindings apply to writes.

Kubernetes' validating admission policies, as its admission plugin evaluates them (v1):

- a write is checked against every ValidatingAdmissionPolicyBinding whose policy exists
  and whose policy's `matchConstraints` and own `matchResources` both match it: the
  operation, group, version and resource (`*` and `resource/subresource` forms), scope,
  resource names, namespace labels (`namespaceSelector`) and object labels
  (`objectSelector`, the new or the old object's), minus `excludeResourceRules`;
- then the policy's `matchConditions` must all hold, its `variables` are computed in
  order, and each validation is evaluated with `object`, `oldObject`, `request`,
  `params`, `namespaceObject` and `variables` bound (a DELETE has only `oldObject`);
- a false validation fails with its `message`, its `messageExpression`'s text or
  `failed expression: EXPR`; an expression that cannot be evaluated fails as well unless
  the policy's `failurePolicy` is Ignore;
- the binding's `validationActions` decide what a failure does: Deny refuses the write
  (HTTP 422, or the code of the validation's `reason`), Warn sends the client a warning,
  Audit logs it;
- with `paramKind`, the binding's `paramRef` names the parameter object (by name, or by
  selector, each match evaluated in turn); none found refuses with Deny as the default
  `parameterNotFoundAction`, or skips the binding with Allow.

Policies and bindings are read from the watch cache once it has them (each write asks;
with no binding at all, nothing else is read), else from etcd. CONNECT (exec, attach,
port-forward) is not checked, and Kubernetes' own CEL libraries (quantity, url, ip,
authorizer) are missing (cel.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from client import errors
from client.codec import to_dict
from client.kinds import UnknownKindError, by_kind, by_resource
from master.apiserver.admission import cel
from master.apiserver.admission.caller import warn
from master.apiserver.admission.matching import (
    Stored,
    Write,
    labels_of,
    request_attributes,
    rule_matches,
    selector_of,
    selectors_match,
)
from master.apiserver.apierrors import resource_named
from master.apiserver.etcd import Etcd
from master.apiserver.watchcache import WatchCache
from proto import admissionregistration_pb2 as ar

__all__ = ["PolicyAdmission"]

log = structlog.get_logger("apiserver.admission.policies")

POLICIES = by_resource("validatingadmissionpolicies")
BINDINGS = by_resource("validatingadmissionpolicybindings")

_CODES: dict[str, type[errors.ApiError]] = {
    "Unauthorized": errors.Unauthenticated,
    "Forbidden": errors.Forbidden,
    "Invalid": errors.Invalid,
}


@dataclass(frozen=True)
class _Failure:
    message: str
    reason: str


class PolicyAdmission:
    """Evaluates the bound ValidatingAdmissionPolicies for writes."""

    def __init__(self, etcd: Etcd, cache: WatchCache | None = None) -> None:
        self.etcd = etcd
        self.stored = Stored(etcd, cache)

    async def check(
        self, w: Write, *, bindings: list[Any] | None = None, namespace_obj: Any | None = None
    ) -> None:
        """Refuse `w` (Invalid, Forbidden ...) when a Deny binding's policy fails it;
        warn for Warn bindings. A create passes the bindings and Namespace its admission
        has read already."""
        if w.kind in (POLICIES, BINDINGS):
            return  # as Kubernetes: policies never guard their own kinds' writes
        if bindings is None:
            bindings = await self.stored.all(BINDINGS)
        if not bindings:
            return
        policies = {p.metadata.name: p for p in await self.stored.all(POLICIES)}
        if namespace_obj is None:
            namespace_obj = await self.stored.namespace_of(w)
        base: dict[str, Any] | None = None
        for binding in sorted(bindings, key=lambda b: b.metadata.name):
            policy = policies.get(binding.spec.policy_name)
            if policy is None:
                continue
            if not self._matches(policy.spec.match_constraints, w, namespace_obj, rules=True):
                continue
            if binding.spec.HasField("match_resources") and not self._matches(
                binding.spec.match_resources, w, namespace_obj, rules=False
            ):
                continue
            if base is None:
                base = self._bound(w, namespace_obj)
            await self._apply(policy, binding, w, base)

    def _matches(
        self, match: ar.MatchResources, w: Write, namespace_obj: Any | None, *, rules: bool
    ) -> bool:
        """Whether `match` takes `w`; a binding's empty resourceRules take everything
        its policy took (`rules` False)."""
        if match.resource_rules or rules:
            if not any(rule_matches(r, w, r.resource_names) for r in match.resource_rules):
                return False
        if any(rule_matches(r, w, r.resource_names) for r in match.exclude_resource_rules):
            return False
        return selectors_match(match, w, namespace_obj)

    async def _params(self, policy: Any, binding: Any, w: Write) -> list[Any] | None:
        """The parameter objects to evaluate with ([None] without paramKind); None to
        skip the binding (no params, Allow)."""
        spec = policy.spec
        if not spec.HasField("param_kind"):
            return [None]
        ref = binding.spec.param_ref
        try:
            kind = by_kind(spec.param_kind.api_version, spec.param_kind.kind)
        except UnknownKindError as e:
            raise _Refusal(f"failed to configure policy: {e}", "Invalid") from None
        namespace = ""
        if kind.namespaced:
            namespace = ref.namespace or (w.namespace if w.kind.namespaced else "")
        found: list[Any] = []
        if ref.name:
            one = await self.stored.get(kind, namespace, ref.name)
            found = [one] if one is not None else []
        elif ref.HasField("selector"):
            chosen = selector_of(ref.selector)
            found = [
                o
                for o in await self.stored.all(kind, namespace)
                if chosen is not None and chosen.matches(labels_of(o))
            ]
        if found:
            return [to_dict(o) for o in found]
        action = (
            ref.parameter_not_found_action if ref.HasField("parameter_not_found_action") else "Deny"
        )
        if action == "Allow":
            return None
        raise _Refusal(
            "failed to configure binding: no params found for policy binding with `Deny` "
            "parameterNotFoundAction",
            "Invalid",
        )

    def _bound(self, w: Write, namespace_obj: Any) -> dict[str, Any]:
        """The write's CEL bindings, converted once per write whatever the number of
        bindings and expressions that read them."""
        return cel.bind(
            {
                "object": to_dict(w.obj) if w.obj is not None else None,
                "oldObject": to_dict(w.old) if w.old is not None else None,
                "request": request_attributes(w),
                "namespaceObject": to_dict(namespace_obj) if namespace_obj is not None else None,
            }
        )

    async def _apply(self, policy: Any, binding: Any, w: Write, base: dict[str, Any]) -> None:
        names = (policy.metadata.name, binding.metadata.name)
        fail = (policy.spec.failure_policy or "Fail") != "Ignore"
        try:
            params = await self._params(policy, binding, w)
        except _Refusal as refusal:
            if fail:
                self._act(binding, names, w, [_Failure(refusal.message, refusal.reason)])
            return
        if params is None:
            return
        for param in params:
            bound = {**base, **cel.bind({"params": param})}
            failures = self._evaluate(policy.spec, bound, fail)
            if failures:
                self._act(binding, names, w, failures)

    def _evaluate(self, spec: Any, bound: dict[str, Any], fail: bool) -> list[_Failure]:
        for condition in spec.match_conditions:
            try:
                if not cel.as_bool(condition.expression, bound):
                    return []
            except cel.CelError as e:
                message = f"failed to evaluate match condition '{condition.name}': {e}"
                return [_Failure(message, "Invalid")] if fail else []
        variables: dict[str, Any] = {}
        for variable in spec.variables:
            try:
                value = cel.evaluate(variable.expression, {**bound, "variables": variables})
            except cel.CelError as e:
                value = cel.CELEvalError(str(e))
            variables[variable.name] = value
        bound = {**bound, "variables": cel.bind_map(variables)}
        failures: list[_Failure] = []
        for validation in spec.validations:
            reason = validation.reason if validation.HasField("reason") else "Invalid"
            try:
                ok = cel.as_bool(validation.expression, bound)
            except cel.CelError as e:
                if fail:
                    text = f"expression '{validation.expression}' resulted in error: {e}"
                    failures.append(_Failure(text, reason))
                continue
            if ok:
                continue
            message = validation.message or f"failed expression: {validation.expression}"
            if validation.message_expression:
                try:
                    message = cel.as_string(validation.message_expression, bound) or message
                except cel.CelError:
                    pass
            failures.append(_Failure(message, reason))
        return failures

    def _act(
        self, binding: Any, names: tuple[str, str], w: Write, failures: list[_Failure]
    ) -> None:
        policy_name, binding_name = names
        actions = set(binding.spec.validation_actions) or {"Deny"}
        first = failures[0]
        if "Warn" in actions:
            for f in failures:
                warn(
                    f"Validation failed for ValidatingAdmissionPolicy '{policy_name}' with "
                    f"binding '{binding_name}': {f.message}"
                )
        if "Audit" in actions:
            log.info(
                "admission policy failed",
                key=f"{w.namespace}/{w.name}" if w.namespace else w.name,
                policy=policy_name,
                binding=binding_name,
                messages=[f.message for f in failures],
            )
        if "Deny" in actions:
            denial = (
                f"ValidatingAdmissionPolicy '{policy_name}' with binding '{binding_name}' "
                f"denied request: {first.message}"
            )
            message = f"{resource_named(w.kind, w.name)} is forbidden: {denial}"
            error = _CODES.get(first.reason, errors.Invalid)
            if error is errors.Invalid:
                # As Kubernetes: the denial is also the one cause, which kubectl prints.
                raise errors.Invalid(message, [("", denial)])
            raise error(message)


class _Refusal(Exception):
    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason

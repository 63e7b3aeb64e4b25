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

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from client import errors
from client.codec import to_dict
from client.kinds import Kind, Object, UnknownKindError, by_kind, by_resource
from client.selectors import LabelSelector, from_proto
from master.apiserver.admission import cel
from master.apiserver.admission.caller import CALLER, warn
from master.apiserver.apierrors import resource_named
from master.apiserver.etcd import Etcd
from master.apiserver.listing import list_objects
from master.apiserver.objects import decode_stored, object_key
from master.apiserver.selection import Selection
from master.apiserver.watchcache import WatchCache
from proto import admissionregistration_pb2 as ar

__all__ = ["PolicyAdmission", "Write"]

log = structlog.get_logger("apiserver.admission.policies")

POLICIES = by_resource("validatingadmissionpolicies")
BINDINGS = by_resource("validatingadmissionpolicybindings")
NAMESPACES = by_resource("namespaces")

_CODES: dict[str, type[errors.ApiError]] = {
    "Unauthorized": errors.Unauthenticated,
    "Forbidden": errors.Forbidden,
    "Invalid": errors.Invalid,
}


@dataclass(frozen=True)
class Write:
    """One write as admission sees it."""

    kind: Kind
    operation: str
    """CREATE, UPDATE or DELETE."""
    namespace: str
    name: str
    obj: Object | None
    """None for a DELETE, whose object is the old one."""
    old: Object | None = None
    subresource: str = ""
    dry_run: bool = False


@dataclass(frozen=True)
class _Failure:
    message: str
    reason: str


def _rule_matches(rule: ar.NamedRuleWithOperations, w: Write) -> bool:
    kind = w.kind
    if not _listed(rule.operations, w.operation):
        return False
    version = kind.api_version.rpartition("/")[2]
    if not _listed(rule.api_groups, kind.group) or not _listed(rule.api_versions, version):
        return False
    wanted = f"{kind.resource}/{w.subresource}" if w.subresource else kind.resource
    resources = list(rule.resources)
    if not any(_resource_matches(r, wanted, bool(w.subresource)) for r in resources):
        return False
    scope = rule.scope if rule.HasField("scope") else "*"
    if (scope == "Cluster" and kind.namespaced) or (scope == "Namespaced" and not kind.namespaced):
        return False
    return not rule.resource_names or w.name in rule.resource_names


def _listed(values: Iterable[str], value: str) -> bool:
    listed = list(values)
    return "*" in listed or value in listed


def _resource_matches(pattern: str, wanted: str, is_sub: bool) -> bool:
    if pattern == "*/*" or pattern == wanted:
        return True
    if pattern == "*":
        return not is_sub
    base, _, sub = wanted.partition("/")
    if pattern == f"*/{sub}" and is_sub:
        return True
    return pattern == f"{base}/*" and is_sub


def _labels(obj: Object | None) -> dict[str, str]:
    return dict(obj.metadata.labels) if obj is not None else {}


def _selector(selector: Any) -> LabelSelector | None:
    try:
        return from_proto(selector)
    except ValueError:
        return None


class PolicyAdmission:
    """Evaluates the bound ValidatingAdmissionPolicies for writes."""

    def __init__(self, etcd: Etcd, cache: WatchCache | None = None) -> None:
        self.etcd = etcd
        self.cache = cache

    async def _all(self, kind: Kind) -> list[Any]:
        cacher = self.cache.ready_now(kind) if self.cache is not None else None
        if cacher is not None:
            return list(cacher.store.values())
        page = await list_objects(self.etcd, kind, "", Selection())
        return list(page.items)

    async def _get(self, kind: Kind, namespace: str, name: str) -> Any | None:
        kv, _ = await self.etcd.get(object_key(kind, namespace, name))
        return None if kv is None else decode_stored(kind, kv.value, kv.mod_revision)

    async def check(
        self, w: Write, *, bindings: list[Any] | None = None, namespace_obj: Any | None = None
    ) -> None:
        """Refuse `w` (Invalid, Forbidden ...) when a Deny binding's policy fails it;
        warn for Warn bindings. A create passes the bindings and Namespace its admission
        has read already."""
        if w.kind in (POLICIES, BINDINGS):
            return  # as Kubernetes: policies never guard their own kinds' writes
        if bindings is None:
            bindings = await self._all(BINDINGS)
        if not bindings:
            return
        policies = {p.metadata.name: p for p in await self._all(POLICIES)}
        if w.kind.namespaced and w.namespace and namespace_obj is None:
            namespace_obj = await self._get(NAMESPACES, "", w.namespace)
        elif w.kind == NAMESPACES:
            namespace_obj = w.obj if w.obj is not None else w.old
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
            if not any(_rule_matches(r, w) for r in match.resource_rules):
                return False
        if any(_rule_matches(r, w) for r in match.exclude_resource_rules):
            return False
        if match.HasField("namespace_selector") and (w.kind.namespaced or w.kind == NAMESPACES):
            chosen = _selector(match.namespace_selector)
            if chosen is None or not chosen.matches(_labels(namespace_obj)):
                return False
        if match.HasField("object_selector"):
            chosen = _selector(match.object_selector)
            if chosen is None:
                return False
            if not (chosen.matches(_labels(w.obj)) or chosen.matches(_labels(w.old))):
                return False
        return True

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
            one = await self._get(kind, namespace, ref.name)
            found = [one] if one is not None else []
        elif ref.HasField("selector"):
            chosen = _selector(ref.selector)
            page = await list_objects(self.etcd, kind, namespace, Selection())
            found = [o for o in page.items if chosen is not None and chosen.matches(_labels(o))]
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

    def _request(self, w: Write) -> dict[str, Any]:
        user = CALLER.get()
        group_version = {"group": w.kind.group, "version": w.kind.api_version.rpartition("/")[2]}
        return {
            "kind": {**group_version, "kind": w.kind.kind},
            "resource": {**group_version, "resource": w.kind.resource},
            "subResource": w.subresource,
            "name": w.name,
            "namespace": w.namespace,
            "operation": w.operation,
            "userInfo": {
                "username": user.name if user else "",
                "uid": user.uid if user else "",
                "groups": list(user.groups) if user else [],
            },
            "dryRun": w.dry_run,
        }

    def _bound(self, w: Write, namespace_obj: Any) -> dict[str, Any]:
        """The write's CEL bindings, converted once per write whatever the number of
        bindings and expressions that read them."""
        return cel.bind(
            {
                "object": to_dict(w.obj) if w.obj is not None else None,
                "oldObject": to_dict(w.old) if w.old is not None else None,
                "request": self._request(w),
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

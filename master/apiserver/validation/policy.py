"""ResourceQuota and LimitRange: the resource names they may name and their quantities."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from client.quantity import parse_quantity
from client.quota import (
    SCOPE_CONFLICTS,
    SCOPED_RESOURCES,
    SCOPES,
    SELECTOR_OPERATORS,
    SELECTOR_SCOPES,
)
from master.apiserver.validation.errors import Errors, child
from master.apiserver.validation.fields import quantity

COMPUTE = ("cpu", "memory")
QUOTA_COMPUTE = (
    "cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory",
    "requests.storage",
)  # fmt: skip
QUOTA_COUNTS = (
    "pods",
    "services",
    "configmaps",
    "secrets",
    "resourcequotas",
    "persistentvolumeclaims",
    "services.loadbalancers",
    "services.nodeports",
)
"""Object counts by their short names; `count/<resource>[.<group>]` counts any kind."""
LIMIT_TYPES = ("Container", "Pod", "PersistentVolumeClaim")
CLAIM = "PersistentVolumeClaim"
CLAIM_RESOURCES = ("storage",)


def validate_resource_quota(errs: Errors, obj: Any) -> None:
    for name, text in sorted(obj.spec.hard.items()):
        path = child("spec.hard", name)
        known = name in QUOTA_COMPUTE or name in QUOTA_COUNTS or name.startswith("count/")
        if not known:
            errs.unsupported(path, name, [*QUOTA_COMPUTE, *QUOTA_COUNTS, "count/<resource>"])
            continue
        if quantity(errs, path, text) is not None and name not in QUOTA_COMPUTE:
            if parse_quantity(text).denominator != 1:
                errs.invalid(path, text, "must be an integer")
    scopes = list(obj.spec.scopes)
    for i, scope in enumerate(scopes):
        if scope not in SCOPES:
            # PriorityClass and CrossNamespacePodAffinity need a scopeSelector: not here.
            errs.unsupported(f"spec.scopes[{i}]", scope, SCOPES)
    for a, b in SCOPE_CONFLICTS:
        if a in scopes and b in scopes:
            errs.invalid("spec.scopes", scopes, f"conflicting scopes: {a} and {b}")
    _scope_selector(errs, obj)
    if scopes or obj.spec.scope_selector.match_expressions:
        allowed = ("pods", "count/pods") if "BestEffort" in scopes else SCOPED_RESOURCES
        for name in sorted(obj.spec.hard):
            if name not in allowed:
                errs.invalid(
                    child("spec.hard", name), name, "unsupported scope applied to resource"
                )


def _scope_selector(errs: Errors, obj: Any) -> None:
    """Each requirement: a known scope and operator, values as the operator wants them;
    only PriorityClass compares values, the other scopes only exist or do not."""
    base = "spec.scopeSelector.matchExpressions"
    for i, requirement in enumerate(obj.spec.scope_selector.match_expressions):
        path = f"{base}[{i}]"
        scope, op = requirement.scope_name, requirement.operator
        if scope not in SELECTOR_SCOPES:
            errs.unsupported(f"{path}.scopeName", scope, SELECTOR_SCOPES)
        if op not in SELECTOR_OPERATORS:
            errs.unsupported(f"{path}.operator", op, SELECTOR_OPERATORS)
            continue
        if scope in SELECTOR_SCOPES and scope != "PriorityClass" and op != "Exists":
            errs.invalid(
                f"{path}.operator",
                op,
                "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, "
                "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, "
                "ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
            )
        if op in ("In", "NotIn") and not requirement.values:
            errs.required(
                f"{path}.values", "must be at least one value when `operator` is 'In' or 'NotIn'"
            )
        if op in ("Exists", "DoesNotExist") and requirement.values:
            errs.invalid(
                f"{path}.values",
                list(requirement.values),
                "must be no value when `operator` is 'Exist' or 'DoesNotExist'",
            )


def validate_limit_range(errs: Errors, obj: Any) -> None:
    for i, item in enumerate(obj.spec.limits):
        path = f"spec.limits[{i}]"
        if item.type not in LIMIT_TYPES:
            errs.unsupported(f"{path}.type", item.type, LIMIT_TYPES)
            continue
        maps = {
            "max": item.max,
            "min": item.min,
            "default": item.default,
            "defaultRequest": item.default_request,
            "maxLimitRequestRatio": item.max_limit_request_ratio,
        }
        # A claim's range bounds its storage request: min and max only, one of them given.
        allowed = CLAIM_RESOURCES if item.type == CLAIM else COMPUTE
        values: dict[str, dict[str, Fraction]] = {}
        for field, found in maps.items():
            values[field] = {}
            for name, text in sorted(found.items()):
                where = child(f"{path}.{field}", name)
                if name not in allowed:
                    errs.unsupported(where, name, allowed)
                elif (value := quantity(errs, where, text)) is not None:
                    values[field][name] = value
        if item.type == CLAIM and "storage" not in item.min and "storage" not in item.max:
            errs.required(
                f"{path}.limits",
                "either minimum or maximum storage value is required, but neither was provided",
            )
        if item.type == "Pod":
            for field in ("default", "defaultRequest"):
                if maps[field]:
                    errs.add(f"{path}.{field}", "Forbidden: may not be specified when type is Pod")
        for name in allowed:
            low, high = values["min"].get(name), values["max"].get(name)
            for field in ("defaultRequest", "default"):
                value = values[field].get(name)
                where = child(f"{path}.{field}", name)
                if value is not None and low is not None and value < low:
                    errs.invalid(where, maps[field][name], f"min value {maps['min'][name]} is "
                                 f"greater than {field} value {maps[field][name]}")  # fmt: skip
                if value is not None and high is not None and value > high:
                    errs.invalid(where, maps[field][name], f"{field} value "
                                 f"{maps[field][name]} is greater than max value "
                                 f"{maps['max'][name]}")  # fmt: skip
            if low is not None and high is not None and low > high:
                errs.invalid(child(f"{path}.min", name), maps["min"][name],
                             f"min value {maps['min'][name]} is greater than max value "
                             f"{maps['max'][name]}")  # fmt: skip

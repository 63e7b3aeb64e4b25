"""RBAC's four kinds: what makes a rule, a subject and a role reference valid.

As in Kubernetes: a rule has verbs and either resources (with apiGroups) or
nonResourceURLs (only in ClusterRoles); a subject is a User, Group or ServiceAccount with a
name (a ServiceAccount also with its namespace); a binding's roleRef names a Role or a
ClusterRole (a ClusterRoleBinding only a ClusterRole) and never changes once made.
"""

from __future__ import annotations

from typing import Any

from master.apiserver.validation.errors import Errors

RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ("User", "Group", "ServiceAccount")


def validate_rules(errs: Errors, rules: Any, *, cluster_scoped: bool) -> None:
    for i, rule in enumerate(rules):
        path = f"rules[{i}]"
        if not rule.verbs:
            errs.required(f"{path}.verbs", "verbs must contain at least one value")
        if rule.non_resource_urls:
            if not cluster_scoped:
                errs.invalid(
                    f"{path}.nonResourceURLs",
                    list(rule.non_resource_urls),
                    "namespaced rules cannot apply to non-resource URLs",
                )
            if rule.resources or rule.api_groups:
                errs.invalid(
                    f"{path}.nonResourceURLs",
                    list(rule.non_resource_urls),
                    "rules cannot apply to both regular resources and non-resource URLs",
                )
        elif not rule.resources:
            errs.required(f"{path}.resources", "resource rules must supply at least one resource")
        elif not rule.api_groups:
            errs.required(f"{path}.apiGroups", "resource rules must supply at least one api group")


def validate_binding(errs: Errors, binding: Any, *, cluster_scoped: bool) -> None:
    ref = binding.role_ref
    allowed = ("ClusterRole",) if cluster_scoped else ("Role", "ClusterRole")
    errs.enum("roleRef.kind", ref.kind, allowed, required=True)
    if ref.api_group != RBAC_GROUP:
        errs.unsupported("roleRef.apiGroup", ref.api_group, [RBAC_GROUP])
    if not ref.name:
        errs.required("roleRef.name")
    for i, subject in enumerate(binding.subjects):
        path = f"subjects[{i}]"
        errs.enum(f"{path}.kind", subject.kind, SUBJECT_KINDS, required=True)
        if not subject.name:
            errs.required(f"{path}.name")
        if subject.kind == "ServiceAccount":
            if subject.api_group:
                errs.unsupported(f"{path}.apiGroup", subject.api_group, [""])
            if cluster_scoped and not subject.namespace:
                errs.required(f"{path}.namespace")
        elif subject.kind in ("User", "Group") and subject.api_group != RBAC_GROUP:
            errs.unsupported(f"{path}.apiGroup", subject.api_group, [RBAC_GROUP])


def validate_binding_update(errs: Errors, new: Any, old: Any) -> None:
    if new.role_ref != old.role_ref:
        errs.immutable("roleRef", f"{new.role_ref.kind}/{new.role_ref.name}")

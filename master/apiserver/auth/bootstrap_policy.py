"""The default ClusterRoles and ClusterRoleBindings every cluster starts with.

As Kubernetes' bootstrap policy, cut to the resources Tugboat serves:

- `cluster-admin` (bound to the group `system:masters`): everything.
- `admin`, `edit`, `view`: user-facing roles made, as in Kubernetes, by aggregation:
  each gathers the `system:aggregate-to-*` roles labelled for it, so a later kind adds
  one small ClusterRole with the right label instead of editing three. view ⊂ edit ⊂
  admin; view never reads Secrets; only admin manages Roles and RoleBindings.
- one role per component, bound to the user in that component's certificate:
  `system:kube-scheduler`, `system:kube-controller-manager`, `system:node-proxier`
  (user `system:kube-proxy`). Kubelets are authorized by the node authorizer instead.
- `system:basic-user` (can-i and who-am-i for every authenticated user),
  `system:public-info-viewer` (health paths for everyone), `system:discovery`, and
  `system:monitoring` (/metrics for the group of that name).

Every API server writes these at start and puts back any that were changed, unless the
object carries `rbac.authorization.kubernetes.io/autoupdate: "false"`.
"""

from __future__ import annotations

from collections.abc import Sequence

from proto import meta_pb2, rbac_pb2

__all__ = ["AUTOUPDATE", "cluster_role_bindings", "cluster_roles"]

AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"
RBAC_VERSION = "rbac.authorization.k8s.io/v1"
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"

READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")


def rule(
    verbs: Sequence[str], groups: Sequence[str] = ("",), resources: Sequence[str] = ()
) -> rbac_pb2.PolicyRule:
    return rbac_pb2.PolicyRule(verbs=verbs, api_groups=groups, resources=resources)


def paths(verbs: Sequence[str], urls: Sequence[str]) -> rbac_pb2.PolicyRule:
    return rbac_pb2.PolicyRule(verbs=verbs, non_resource_urls=urls)


def signers(verbs: Sequence[str], names: Sequence[str]) -> rbac_pb2.PolicyRule:
    """`approve` or `sign` requests of the named signers (`kubernetes.io/*`: the domain's)."""
    return rbac_pb2.PolicyRule(
        verbs=verbs, api_groups=["certificates.k8s.io"], resources=["signers"], resource_names=names
    )


def _meta(name: str, labels: dict[str, str] | None = None) -> meta_pb2.ObjectMeta:
    meta = meta_pb2.ObjectMeta(name=name)
    meta.labels[BOOTSTRAP_LABEL] = "rbac-defaults"
    meta.labels.update(labels or {})
    meta.annotations[AUTOUPDATE] = "true"
    return meta


def _role(
    name: str,
    rules: Sequence[rbac_pb2.PolicyRule],
    *,
    labels: dict[str, str] | None = None,
    aggregate_from: str = "",
) -> rbac_pb2.ClusterRole:
    role = rbac_pb2.ClusterRole(
        api_version=RBAC_VERSION, kind="ClusterRole", metadata=_meta(name, labels), rules=rules
    )
    if aggregate_from:
        selector = role.aggregation_rule.cluster_role_selectors.add()
        selector.match_labels[AGGREGATE + aggregate_from] = "true"
    return role


def _aggregate_to(*roles: str) -> dict[str, str]:
    return {AGGREGATE + r: "true" for r in roles}


_WORKLOADS = (
    "deployments", "deployments/scale", "replicasets", "replicasets/scale", "daemonsets",
    "statefulsets", "statefulsets/scale",
)
_CORE_EDITABLE = (
    "pods", "pods/attach", "pods/eviction", "pods/exec", "pods/portforward", "pods/proxy",
    "pods/ephemeralcontainers",
    "configmaps", "endpoints", "secrets", "serviceaccounts", "services", "services/proxy",
    "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale",
)  # fmt: skip
_CORE_VIEWABLE = (
    "pods", "pods/log", "pods/status", "configmaps", "endpoints", "events", "limitranges",
    "namespaces", "namespaces/status", "resourcequotas", "resourcequotas/status",
    "serviceaccounts", "services", "services/status",
    "persistentvolumeclaims", "persistentvolumeclaims/status",
    "replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status",
)  # fmt: skip


def cluster_roles() -> list[rbac_pb2.ClusterRole]:
    """Every default ClusterRole."""
    return [
        _role("cluster-admin", [rule(["*"], ["*"], ["*"]), paths(["*"], ["*"])]),
        _role("admin", [], aggregate_from="admin"),
        _role("edit", [], labels=_aggregate_to("admin"), aggregate_from="edit"),
        _role("view", [], labels=_aggregate_to("admin", "edit"), aggregate_from="view"),
        _role(
            "system:aggregate-to-admin",
            [
                rule(["*"], ["rbac.authorization.k8s.io"], ["roles", "rolebindings"]),
                rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
                rule(WRITE, [""], ["resourcequotas", "limitranges"]),
            ],
            labels=_aggregate_to("admin"),
        ),
        _role(
            "system:aggregate-to-edit",
            [
                rule(WRITE, [""], _CORE_EDITABLE),
                rule(["create"], [""], ["serviceaccounts/token"]),
                rule(["get"], [""], ["pods/exec", "pods/attach", "pods/portforward"]),
                rule(READ, [""], ["secrets"]),
                rule(WRITE, ["apps"], _WORKLOADS),
                rule(WRITE, ["batch"], ["jobs", "cronjobs"]),
                rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
                rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
                rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
                rule(WRITE, ["coordination.k8s.io"], ["leases"]),
                rule(["impersonate"], [""], ["serviceaccounts"]),
            ],
            labels=_aggregate_to("admin", "edit"),
        ),
        _role(
            "system:aggregate-to-view",
            [
                rule(READ, [""], _CORE_VIEWABLE),
                rule(
                    READ,
                    ["apps"],
                    (*_WORKLOADS, "deployments/status", "replicasets/status", "daemonsets/status",
                     "statefulsets/status", "controllerrevisions"),
                ),
                rule(READ, ["batch"], ["jobs", "jobs/status", "cronjobs", "cronjobs/status"]),
                rule(
                    READ,
                    ["autoscaling"],
                    ["horizontalpodautoscalers", "horizontalpodautoscalers/status"],
                ),
                rule(
                    READ,
                    ["networking.k8s.io"],
                    ["ingresses", "ingresses/status", "networkpolicies"],
                ),
                rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
                rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
                rule(READ, ["coordination.k8s.io"], ["leases"]),
            ],
            labels=_aggregate_to("admin", "edit", "view"),
        ),
        _role(
            # metrics-server's role: `kubectl top` for whoever may view the namespace.
            "system:aggregated-metrics-reader",
            [rule(READ, ["metrics.k8s.io"], ["pods", "nodes"])],
            labels=_aggregate_to("admin", "edit", "view"),
        ),
        _role(
            "system:basic-user",
            [
                rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews"]),
                rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
            ],
        ),
        _role(
            "system:public-info-viewer",
            [paths(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"])],
        ),
        _role(
            "system:discovery",
            [
                paths(
                    ["get"],
                    [
                        "/api",
                        "/api/*",
                        "/apis",
                        "/apis/*",
                        "/openapi",
                        "/openapi/*",
                        "/version",
                        "/version/",
                    ],
                )
            ],
        ),
        _role(
            "system:monitoring",
            [
                paths(
                    ["get"],
                    [
                        "/metrics",
                        "/metrics/slis",
                        "/livez",
                        "/readyz",
                        "/healthz",
                        "/livez/*",
                        "/readyz/*",
                        "/healthz/*",
                    ],
                )
            ],
        ),
        _role(
            "system:kube-scheduler",
            [
                # What it watches, and no more: never Secrets.
                rule(READ, [""], ["pods", "nodes", "namespaces", "services"]),
                rule(READ, ["scheduling.k8s.io"], ["priorityclasses"]),
                # Volume binding: it reads claims, volumes and classes, and marks a
                # WaitForFirstConsumer claim with the node it chose.
                rule(READ, [""], ["persistentvolumeclaims", "persistentvolumes"]),
                rule(READ, ["storage.k8s.io"], ["storageclasses"]),
                rule(["update", "patch"], [""], ["persistentvolumeclaims", "persistentvolumes"]),
                rule(READ, ["apps"], ["replicasets", "daemonsets"]),
                rule(["update", "delete"], [""], ["pods"]),
                rule(["update"], [""], ["pods/status", "pods/binding"]),
                rule(["create", "update", "patch"], [""], ["events"]),
                rule(["create", "update", "get"], ["coordination.k8s.io"], ["leases"]),
            ],
        ),
        _role(
            "system:kube-controller-manager",
            [
                # Its namespace controller empties a deleted namespace of every kind.
                rule([*READ, "delete", "deletecollection"], ["*"], ["*"]),
                rule(
                    ["create", "update", "patch"],
                    [""],
                    [
                        "pods",
                        "pods/status",
                        "endpoints",
                        "events",
                        "namespaces",
                        "namespaces/status",
                        "namespaces/finalize",
                        "nodes",
                        "nodes/status",
                        "services",
                        "services/status",
                        "serviceaccounts",
                        "resourcequotas/status",
                        "persistentvolumeclaims",
                        "persistentvolumeclaims/status",
                        "persistentvolumes",
                        "persistentvolumes/status",
                        "replicationcontrollers",
                        "replicationcontrollers/status",
                    ],
                ),
                rule(
                    ["create", "update", "patch"],
                    ["apps"],
                    [
                        "deployments",
                        "deployments/status",
                        "replicasets",
                        "replicasets/status",
                        "daemonsets",
                        "daemonsets/status",
                        "statefulsets",
                        "statefulsets/status",
                        "controllerrevisions",
                    ],
                ),
                rule(
                    ["create", "update", "patch"],
                    ["batch"],
                    [
                        "jobs",
                        "jobs/status",
                        "cronjobs",
                        "cronjobs/status",
                    ],
                ),
                rule(["create", "update", "get"], ["coordination.k8s.io"], ["leases"]),
                rule(["update", "patch"], ["networking.k8s.io"], ["ingresses/status"]),
                rule(["create", "update", "patch"], ["discovery.k8s.io"], ["endpointslices"]),
                rule(["update", "patch"], ["policy"], ["poddisruptionbudgets/status"]),
                rule(
                    ["create", "update", "patch"],
                    ["autoscaling"],
                    ["horizontalpodautoscalers", "horizontalpodautoscalers/status"],
                ),
                # Its CSR signer issues what kubernetes.io's signers name, and only once
                # approved: it writes the certificate, never the approval.
                rule(["update"], ["certificates.k8s.io"], ["certificatesigningrequests/status"]),
                signers(["sign"], ["kubernetes.io/*"]),
            ],
        ),
        _role(
            "system:node-proxier",
            [
                rule(READ, [""], ["services", "endpoints", "nodes"]),
                # The proxy is also the ingress controller: it serves Ingresses of its
                # class and the TLS Secrets they name (ingress-nginx's role reads the same).
                rule(READ, ["networking.k8s.io"], ["ingresses", "ingressclasses"]),
                rule(READ, [""], ["secrets"]),
                # It enforces NetworkPolicies too, as a network plugin's node agent does.
                rule(READ, ["networking.k8s.io"], ["networkpolicies"]),
                rule(READ, [""], ["pods", "namespaces"]),
                rule(["create", "update", "patch"], [""], ["events"]),
            ],
        ),
    ]


_GROUP, _USER = "Group", "User"


def _binding(
    name: str, role: str, subjects: Sequence[tuple[str, str]]
) -> rbac_pb2.ClusterRoleBinding:
    binding = rbac_pb2.ClusterRoleBinding(
        api_version=RBAC_VERSION, kind="ClusterRoleBinding", metadata=_meta(name)
    )
    binding.role_ref.api_group = "rbac.authorization.k8s.io"
    binding.role_ref.kind = "ClusterRole"
    binding.role_ref.name = role
    for kind, subject in subjects:
        binding.subjects.add(kind=kind, api_group="rbac.authorization.k8s.io", name=subject)
    return binding


def cluster_role_bindings() -> list[rbac_pb2.ClusterRoleBinding]:
    """Every default ClusterRoleBinding."""
    return [
        _binding("cluster-admin", "cluster-admin", [(_GROUP, "system:masters")]),
        _binding("system:basic-user", "system:basic-user", [(_GROUP, "system:authenticated")]),
        _binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            [(_GROUP, "system:authenticated"), (_GROUP, "system:unauthenticated")],
        ),
        _binding("system:discovery", "system:discovery", [(_GROUP, "system:authenticated")]),
        _binding("system:monitoring", "system:monitoring", [(_GROUP, "system:monitoring")]),
        _binding(
            "system:kube-scheduler", "system:kube-scheduler", [(_USER, "system:kube-scheduler")]
        ),
        _binding(
            "system:kube-controller-manager",
            "system:kube-controller-manager",
            [(_USER, "system:kube-controller-manager")],
        ),
        _binding("system:node-proxier", "system:node-proxier", [(_USER, "system:kube-proxy")]),
    ]

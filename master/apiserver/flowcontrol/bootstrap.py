"""Kubernetes' built-in API Priority and Fairness configuration, as kube-apiserver 1.32
makes it: two mandatory objects of each kind (`exempt`, `catch-all`) and the suggested
levels and schemas that give nodes, leader election, controllers and workloads their own
shares.

Written as the JSON a user would apply (the same names, precedences and numbers as
Kubernetes' bootstrap package), so that `kubectl get flowschemas` on Tugboat lists what
it lists on any cluster, and an administrator's knowledge of those objects carries over.
The ensurer (ensurer.py) decodes them into API objects.
"""

from __future__ import annotations

from typing import Any

AUTO_UPDATE = "apf.kubernetes.io/autoupdate-spec"
"""The annotation that lets the API server keep an object's spec at its built-in value."""

EXEMPT = "exempt"
CATCH_ALL = "catch-all"
ALL = "*"

_MASTERS = "system:masters"
_NODES = "system:nodes"
_AUTHENTICATED = "system:authenticated"
_UNAUTHENTICATED = "system:unauthenticated"
_SERVICE_ACCOUNTS = "system:serviceaccounts"
_CONTROLLER_MANAGER = "system:kube-controller-manager"
_SCHEDULER = "system:kube-scheduler"

Json = dict[str, Any]


def _meta(name: str) -> Json:
    return {"name": name, "annotations": {AUTO_UPDATE: "true"}}


def _level(name: str, spec: Json) -> Json:
    return {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "PriorityLevelConfiguration",
        "metadata": _meta(name),
        "spec": spec,
    }


def _queued(shares: int, lendable: int, queues: int, hand: int) -> Json:
    return {
        "type": "Limited",
        "limited": {
            "nominalConcurrencyShares": shares,
            "lendablePercent": lendable,
            "limitResponse": {
                "type": "Queue",
                "queuing": {"queues": queues, "handSize": hand, "queueLengthLimit": 50},
            },
        },
    }


def _schema(name: str, level: str, precedence: int, distinguisher: str, rules: list[Json]) -> Json:
    spec: Json = {
        "priorityLevelConfiguration": {"name": level},
        "matchingPrecedence": precedence,
        "rules": rules,
    }
    if distinguisher:
        spec["distinguisherMethod"] = {"type": distinguisher}
    return {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "FlowSchema",
        "metadata": _meta(name),
        "spec": spec,
    }


def _groups(*names: str) -> list[Json]:
    return [{"kind": "Group", "group": {"name": n}} for n in names]


def _users(*names: str) -> list[Json]:
    return [{"kind": "User", "user": {"name": n}} for n in names]


def _kube_system_service_accounts() -> list[Json]:
    return [{"kind": "ServiceAccount", "serviceAccount": {"namespace": "kube-system", "name": ALL}}]


def _resources(
    verbs: list[str], groups: list[str], resources: list[str], *, cluster_scope: bool
) -> Json:
    return {
        "verbs": verbs,
        "apiGroups": groups,
        "resources": resources,
        "namespaces": [ALL],
        "clusterScope": cluster_scope,
    }


def _everything(subjects: list[Json]) -> Json:
    """A rule matching every request of the subjects, resource or not."""
    return {
        "subjects": subjects,
        "resourceRules": [_resources([ALL], [ALL], [ALL], cluster_scope=True)],
        "nonResourceRules": [{"verbs": [ALL], "nonResourceURLs": [ALL]}],
    }


def mandatory_levels() -> list[Json]:
    """`exempt` (never queued) and `catch-all` (a small share, refusing beyond it)."""
    return [
        _level(
            CATCH_ALL,
            {
                "type": "Limited",
                "limited": {
                    "nominalConcurrencyShares": 5,
                    "lendablePercent": 0,
                    "limitResponse": {"type": "Reject"},
                },
            },
        ),
        _level(
            EXEMPT,
            {"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0}},
        ),
    ]


def mandatory_schemas() -> list[Json]:
    """`exempt` for system:masters (an administrator can always repair the cluster) and
    `catch-all` for whatever no other schema matches."""
    return [
        _schema(EXEMPT, EXEMPT, 1, "", [_everything(_groups(_MASTERS))]),
        _schema(
            CATCH_ALL,
            CATCH_ALL,
            10000,
            "ByUser",
            [_everything(_groups(_UNAUTHENTICATED, _AUTHENTICATED))],
        ),
    ]


def suggested_levels() -> list[Json]:
    """Kubernetes' six suggested levels, with its shares, lendable percents and queues."""
    return [
        _level("system", _queued(30, 33, 64, 6)),
        # Node heartbeats apart from the rest of the nodes' traffic: a node can report
        # its health while pod starts (secrets, events) fill the `system` level.
        _level("node-high", _queued(40, 25, 64, 6)),
        _level("leader-election", _queued(10, 0, 16, 4)),
        _level("workload-high", _queued(40, 50, 128, 6)),
        _level("workload-low", _queued(100, 90, 128, 6)),
        _level("global-default", _queued(20, 50, 128, 6)),
    ]


def suggested_schemas() -> list[Json]:
    """Kubernetes' nine suggested schemas, in order of precedence."""
    leases = ["coordination.k8s.io"]
    return [
        _schema(
            "probes",
            EXEMPT,
            2,
            "",
            [
                {
                    "subjects": _groups(_UNAUTHENTICATED, _AUTHENTICATED),
                    "nonResourceRules": [
                        {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/readyz", "/livez"]}
                    ],
                }
            ],
        ),
        _schema(
            "system-leader-election",
            "leader-election",
            100,
            "ByUser",
            [
                {
                    "subjects": [
                        *_users(_CONTROLLER_MANAGER, _SCHEDULER),
                        *_kube_system_service_accounts(),
                    ],
                    "resourceRules": [
                        _resources(
                            ["get", "create", "update"], leases, ["leases"], cluster_scope=False
                        )
                    ],
                }
            ],
        ),
        _schema(
            "system-node-high",
            "node-high",
            400,
            "ByUser",
            [
                {
                    "subjects": _groups(_NODES),
                    "resourceRules": [
                        _resources([ALL], [""], ["nodes", "nodes/status"], cluster_scope=True),
                        _resources([ALL], leases, ["leases"], cluster_scope=False),
                    ],
                }
            ],
        ),
        _schema("system-nodes", "system", 500, "ByUser", [_everything(_groups(_NODES))]),
        _schema(
            "kube-controller-manager",
            "workload-high",
            800,
            "ByNamespace",
            [_everything(_users(_CONTROLLER_MANAGER))],
        ),
        _schema(
            "kube-scheduler", "workload-high", 800, "ByNamespace", [_everything(_users(_SCHEDULER))]
        ),
        _schema(
            "kube-system-service-accounts",
            "workload-high",
            900,
            "ByNamespace",
            [_everything(_kube_system_service_accounts())],
        ),
        _schema(
            "service-accounts",
            "workload-low",
            9000,
            "ByUser",
            [_everything(_groups(_SERVICE_ACCOUNTS))],
        ),
        _schema(
            "global-default",
            "global-default",
            9900,
            "ByUser",
            [_everything(_groups(_UNAUTHENTICATED, _AUTHENTICATED))],
        ),
    ]

"""What the validation tests share: a valid object of every kind, and ways to break one.

Each test file under this folder mirrors one module of master/apiserver/validation/ and
states its cases as (kind, changes to the valid object, the error expected, a name); a
change is a dotted path into the manifest ("spec.containers[0].image") and its new value.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from client.codec import from_dict
from client.kinds import Object, by_kind
from master.apiserver.strategies import strategy_for

CONTAINER = {"name": "app", "image": "busybox:1.35"}
LABELS = {"app": "web"}
TEMPLATE = {"metadata": {"labels": LABELS}, "spec": {"containers": [CONTAINER]}}
WORKLOAD_SPEC = {"selector": {"matchLabels": LABELS}, "template": TEMPLATE}

VALID: dict[str, dict[str, Any]] = {
    "Pod": {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "labels": LABELS},
        "spec": {"containers": [CONTAINER]},
    },
    "ReplicaSet": {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": WORKLOAD_SPEC,
    },
    "Deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": WORKLOAD_SPEC,
    },
    "DaemonSet": {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": WORKLOAD_SPEC,
    },
    "Job": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "uid": "uid-1"},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [CONTAINER]}},
        },
    },
    "Service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": LABELS, "ports": [{"port": 80, "targetPort": 8080}]},
    },
    "Endpoints": {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web"},
        "subsets": [{"addresses": [{"ip": "127.0.0.5"}], "ports": [{"port": 80}]}],
    },
    "ConfigMap": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg"},
        "data": {"app.conf": "x=1"},
    },
    "Secret": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "aHVudGVyMg=="},
    },
    "Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    "Node": {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1"},
        "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]},
        "status": {
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "addresses": [{"type": "InternalIP", "address": "127.0.0.2"}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    },
    "Event": {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web-1.1"},
        "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"},
        "reason": "Started",
        "type": "Normal",
    },
    "Lease": {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "scheduler", "namespace": "kube-system"},
        "spec": {"holderIdentity": "m1", "leaseDurationSeconds": 15},
    },
    "PriorityClass": {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "high"},
        "value": 1000,
    },
    "RuntimeClass": {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": "kata"},
        "handler": "kata-fc",
        "overhead": {"podFixed": {"cpu": "250m", "memory": "120Mi"}},
        "scheduling": {
            "nodeSelector": {"runtime": "kata"},
            "tolerations": [{"key": "kata", "operator": "Exists", "effect": "NoSchedule"}],
        },
    },
    "PersistentVolume": {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "pv1"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/srv/pv1"},
        },
    },
    "PersistentVolumeClaim": {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    },
    "StorageClass": {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "fast"},
        "provisioner": "tugboat.io/local-path",
    },
    "PodDisruptionBudget": {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "db"}}},
    },
    "EndpointSlice": {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-abc", "namespace": "default"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.1.2.3"]}],
        "ports": [{"name": "http", "port": 80}],
    },
    "NetworkPolicy": {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "podSelector": {"matchLabels": LABELS},
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                    "ports": [{"port": 80}],
                }
            ],
        },
    },
}


def steps(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


def change(data: Any, path: str, value: Any) -> None:
    *head, last = steps(path)
    for step in head:
        data = data[step]
    if value is DELETE:
        del data[last]
    else:
        data[last] = value


DELETE = object()


def make_object(kind: str, changes: dict[str, Any] | None = None) -> tuple[Any, Object]:
    manifest = copy.deepcopy(VALID[kind])
    for path, value in (changes or {}).items():
        change(manifest, path, value)
    k = by_kind(manifest["apiVersion"], kind)
    obj: Object = from_dict(k.message, manifest)  # type: ignore[assignment]
    strategy_for(k).apply_defaults(obj)
    return k, obj


def errors_of(kind: str, changes: dict[str, Any] | None = None) -> list[str]:
    k, obj = make_object(kind, changes)
    return [str(e) for e in strategy_for(k).problems(obj)]


C0 = "spec.containers[0]"
TC0 = "spec.template.spec.containers[0]"
RFC1123_SUBDOMAIN = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric"
RFC1123_LABEL = "a lowercase RFC 1123 label must consist of lower case alphanumeric"
PORT_RANGE = "must be between 1 and 65535, inclusive"


def container(**fields: Any) -> list[dict[str, Any]]:
    return [{**CONTAINER, **fields}]


Case = tuple[str, dict[str, Any], str, str]
"""kind, changes, the error expected (a substring), the case's name."""
UpdateCase = tuple[str, dict[str, Any] | None, dict[str, Any], str, str]
"""kind, changes of the stored object, changes of the update, the error expected, name."""
AllowedUpdate = tuple[str, dict[str, Any] | None, dict[str, Any], str]


def update_errors(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any]
) -> list[str]:
    k, old = make_object(kind, old_changes)
    _, new = make_object(kind, {**(old_changes or {}), **new_changes})
    return [str(e) for e in strategy_for(k).problems(new, old)]


def invalid_params(cases: list[Case]) -> list[Any]:
    return [pytest.param(kind, changes, want, id=name) for kind, changes, want, name in cases]


def update_params(cases: list[UpdateCase]) -> list[Any]:
    return [pytest.param(k, o, n, e, id=name) for k, o, n, e, name in cases]


def allowed_params(cases: list[AllowedUpdate]) -> list[Any]:
    return [pytest.param(k, o, n, id=name) for k, o, n, name in cases]


def assert_named(errors: list[str], expected: str) -> None:
    """Some error contains `expected`; else the failure shows every error found."""
    assert any(expected in e for e in errors), "\n".join(errors) or "no errors"

"""Kubernetes' defaults: what an object gains between the request and validation."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from client.codec import from_dict, to_dict
from client.kinds import Object, by_kind
from master.apiserver import defaults
from master.apiserver.defaults import image_pull_policy
from master.apiserver.strategies import strategy_for

CONTAINER = {"name": "app", "image": "busybox:1.35"}
POD_SPEC = {"containers": [CONTAINER]}
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}
SELECTOR = {"matchLabels": {"app": "web"}}

MANIFESTS: dict[str, dict[str, Any]] = {
    "Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": POD_SPEC},
    "ReplicaSet": {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "rs"},
        "spec": {"selector": SELECTOR, "template": TEMPLATE},
    },
    "Deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"selector": SELECTOR, "template": TEMPLATE},
    },
    "DaemonSet": {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "ds"},
        "spec": {"selector": SELECTOR, "template": TEMPLATE},
    },
    "Job": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "uid": "uid-1"},
        "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": POD_SPEC}},
    },
    "Service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    },
    "Secret": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}},
    "PriorityClass": {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "high"},
        "value": 10,
    },
    "Event": {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}},
    "Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}},
    "Node": {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n"},
        "status": {"capacity": {"cpu": "2", "memory": "1Gi"}},
    },
    "Endpoints": {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web"},
        "subsets": [{"ports": [{"port": 80}]}],
    },
}


def _defaulted(kind: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    manifest = copy.deepcopy(MANIFESTS[kind])
    for path, value in (changes or {}).items():
        _set(manifest, path, value)
    k = by_kind(manifest["apiVersion"], kind)
    obj: Object = from_dict(k.message, manifest)  # type: ignore[assignment]
    strategy_for(k).apply_defaults(obj)
    out: dict[str, Any] = to_dict(obj)
    return out


def _steps(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


def _get(data: Any, path: str) -> Any:
    for step in _steps(path):
        data = data[step]
    return data


def _set(data: Any, path: str, value: Any) -> None:
    *head, last = _steps(path)
    for step in head:
        data = data[step]
    data[last] = value


POD = "spec"
RS_POD = "spec.template.spec"


@pytest.mark.parametrize(
    ("kind", "changes", "path", "expected"),
    [
        pytest.param("Pod", None, "metadata.namespace", "default", id="namespace default"),
        pytest.param("Pod", None, f"{POD}.restartPolicy", "Always", id="pod restartPolicy Always"),
        pytest.param("Pod", None, f"{POD}.terminationGracePeriodSeconds", 30, id="grace 30 s"),
        pytest.param("Pod", None, f"{POD}.dnsPolicy", "ClusterFirst", id="dnsPolicy"),
        pytest.param("Pod", None, f"{POD}.schedulerName", "default-scheduler", id="scheduler"),
        pytest.param(
            "Pod",
            None,
            f"{POD}.containers[0].imagePullPolicy",
            "IfNotPresent",
            id="a tagged image is pulled if not present",
        ),
        pytest.param(
            "Pod",
            {f"{POD}.containers": [{"name": "a", "image": "busybox"}]},
            f"{POD}.containers[0].imagePullPolicy",
            "Always",
            id="an untagged image is always pulled",
        ),
        pytest.param(
            "Pod",
            {f"{POD}.containers": [{"name": "a", "image": "busybox:latest"}]},
            f"{POD}.containers[0].imagePullPolicy",
            "Always",
            id="latest is always pulled",
        ),
        pytest.param(
            "Pod",
            {f"{POD}.containers": [{"name": "a", "image": "b", "imagePullPolicy": "Never"}]},
            f"{POD}.containers[0].imagePullPolicy",
            "Never",
            id="a given pull policy is kept",
        ),
        pytest.param(
            "Pod",
            None,
            f"{POD}.containers[0].terminationMessagePath",
            "/dev/termination-log",
            id="termination message path",
        ),
        pytest.param(
            "Pod",
            None,
            f"{POD}.containers[0].terminationMessagePolicy",
            "File",
            id="termination message policy",
        ),
        pytest.param(
            "Pod",
            {f"{POD}.containers[0]": {**CONTAINER, "ports": [{"containerPort": 80}]}},
            f"{POD}.containers[0].ports[0].protocol",
            "TCP",
            id="container port protocol TCP",
        ),
        pytest.param(
            "Pod",
            {
                f"{POD}.hostNetwork": True,
                f"{POD}.containers[0]": {**CONTAINER, "ports": [{"containerPort": 80}]},
            },
            f"{POD}.containers[0].ports[0].hostPort",
            80,
            id="with host networking the host port is the container port",
        ),
        pytest.param(
            "Pod",
            {f"{POD}.containers[0]": {**CONTAINER, "resources": {"limits": {"cpu": "1"}}}},
            f"{POD}.containers[0].resources.requests",
            {"cpu": "1"},
            id="a limit without a request requests the limit",
        ),
        pytest.param(
            "Pod",
            {f"{POD}.containers[0]": {**CONTAINER, "livenessProbe": {"httpGet": {"port": 80}}}},
            f"{POD}.containers[0].livenessProbe",
            {
                "httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
                "timeoutSeconds": 1,
                "periodSeconds": 10,
                "successThreshold": 1,
                "failureThreshold": 3,
            },
            id="probe timing and httpGet defaults",
        ),
        pytest.param(
            "Pod",
            {
                f"{POD}.containers[0]": {
                    **CONTAINER,
                    "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 2},
                }
            },
            f"{POD}.containers[0].readinessProbe.periodSeconds",
            2,
            id="a given probe period is kept",
        ),
        pytest.param(
            "Pod",
            {f"{POD}.volumes": [{"name": "data"}]},
            f"{POD}.volumes[0]",
            {"name": "data", "emptyDir": {}},
            id="a volume without a source is an emptyDir",
        ),
        pytest.param(
            "Pod",
            {f"{POD}.volumes": [{"name": "cfg", "configMap": {"name": "c"}}]},
            f"{POD}.volumes[0].configMap.defaultMode",
            0o644,
            id="configMap volumes default to mode 0644",
        ),
        pytest.param(
            "Pod",
            {
                f"{POD}.containers[0]": {
                    **CONTAINER,
                    "env": [
                        {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
                    ],
                }
            },
            f"{POD}.containers[0].env[0].valueFrom.fieldRef.apiVersion",
            "v1",
            id="fieldRef apiVersion v1",
        ),
        pytest.param(
            "Pod",
            {f"{POD}.initContainers": [{"name": "init", "image": "busybox"}]},
            f"{POD}.initContainers[0].imagePullPolicy",
            "Always",
            id="init containers are defaulted too",
        ),
        pytest.param("ReplicaSet", None, "spec.replicas", 1, id="replicaset replicas 1"),
        pytest.param(
            "ReplicaSet", None, f"{RS_POD}.restartPolicy", "Always", id="template restartPolicy"
        ),
        pytest.param(
            "ReplicaSet",
            None,
            f"{RS_POD}.containers[0].imagePullPolicy",
            "IfNotPresent",
            id="template containers are defaulted",
        ),
        pytest.param("Deployment", None, "spec.replicas", 1, id="deployment replicas 1"),
        pytest.param(
            "Deployment", {"spec.replicas": 0}, "spec.replicas", 0, id="zero replicas kept"
        ),
        pytest.param(
            "Deployment",
            None,
            "spec.strategy",
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            id="rolling update 25 percent each",
        ),
        pytest.param(
            "Deployment",
            {"spec.strategy": {"type": "Recreate"}},
            "spec.strategy",
            {"type": "Recreate"},
            id="recreate gets no rolling update parameters",
        ),
        pytest.param(
            "Deployment",
            {"spec.strategy": {"rollingUpdate": {"maxSurge": 2}}},
            "spec.strategy.rollingUpdate",
            {"maxSurge": 2, "maxUnavailable": "25%"},
            id="a given surge keeps its form and the other is defaulted",
        ),
        pytest.param("Deployment", None, "spec.revisionHistoryLimit", 10, id="history limit"),
        pytest.param("Deployment", None, "spec.progressDeadlineSeconds", 600, id="deadline"),
        pytest.param(
            "DaemonSet",
            None,
            "spec.updateStrategy",
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            id="daemonset rolling update one at a time",
        ),
        pytest.param("DaemonSet", None, "spec.revisionHistoryLimit", 10, id="ds history"),
        pytest.param("Job", None, "spec.parallelism", 1, id="job parallelism 1"),
        pytest.param("Job", None, "spec.completions", 1, id="job completions 1"),
        pytest.param(
            "Job",
            {"spec.parallelism": 3},
            "spec.completions",
            None,
            id="completions stay unset when parallelism is given",
        ),
        pytest.param("Job", None, "spec.backoffLimit", 6, id="job backoffLimit 6"),
        pytest.param("Job", None, "spec.completionMode", "NonIndexed", id="completion mode"),
        pytest.param(
            "Job",
            None,
            "spec.selector",
            {"matchLabels": {"batch.kubernetes.io/controller-uid": "uid-1"}},
            id="a job selects its pods by its uid",
        ),
        pytest.param(
            "Job",
            None,
            "spec.template.metadata.labels",
            {
                "app": "pi",
                "batch.kubernetes.io/controller-uid": "uid-1",
                "batch.kubernetes.io/job-name": "pi",
                "controller-uid": "uid-1",
                "job-name": "pi",
            },
            id="a job labels its pods with its uid and name",
        ),
        pytest.param(
            "Job",
            None,
            "metadata.labels",
            {"app": "pi"},
            id="a job without labels takes its template's",
        ),
        pytest.param(
            "Job",
            {"spec.manualSelector": True, "spec.selector": {"matchLabels": {"app": "pi"}}},
            "spec.selector",
            {"matchLabels": {"app": "pi"}},
            id="a manual selector is left alone",
        ),
        pytest.param(
            "Job", None, "spec.template.spec.restartPolicy", None, id="job templates get no policy"
        ),
        pytest.param("Service", None, "spec.type", "ClusterIP", id="service type ClusterIP"),
        pytest.param("Service", None, "spec.sessionAffinity", "None", id="session affinity"),
        pytest.param("Service", None, "spec.ports[0].protocol", "TCP", id="service port TCP"),
        pytest.param("Service", None, "spec.ports[0].targetPort", 80, id="targetPort is port"),
        pytest.param(
            "Service",
            {"spec.ports": [{"port": 80, "targetPort": "http"}]},
            "spec.ports[0].targetPort",
            "http",
            id="a named targetPort is kept",
        ),
        pytest.param(
            "Service",
            {"spec.sessionAffinity": "ClientIP"},
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
            10800,
            id="client IP affinity lasts three hours",
        ),
        pytest.param(
            "Service",
            {"spec.externalIPs": ["192.0.2.7"]},
            "spec.externalTrafficPolicy",
            "Cluster",
            id="a cluster IP with external IPs is externally accessible",
        ),
        pytest.param(
            "Service", None, "spec.externalTrafficPolicy", None, id="a plain cluster IP is not"
        ),
        pytest.param("Service", None, "spec.ipFamilyPolicy", "SingleStack", id="single stack"),
        pytest.param("Service", None, "spec.ipFamilies", ["IPv4"], id="IPv4"),
        pytest.param(
            "Service",
            {"spec.type": "ExternalName", "spec.externalName": "a.example.com"},
            "spec.ipFamilies",
            None,
            id="an external name has no family",
        ),
        pytest.param(
            "Service",
            {"spec.type": "LoadBalancer"},
            "spec.allocateLoadBalancerNodePorts",
            True,
            id="a load balancer gets node ports",
        ),
        pytest.param("Secret", None, "type", "Opaque", id="secret type Opaque"),
        pytest.param(
            "PriorityClass",
            None,
            "preemptionPolicy",
            "PreemptLowerPriority",
            id="priority classes preempt",
        ),
        pytest.param("Event", None, "count", 1, id="event count 1"),
        pytest.param("Namespace", None, "status.phase", "Active", id="namespace is active"),
        pytest.param("Namespace", None, "metadata", {"name": "ns"}, id="namespaces get none"),
        pytest.param(
            "Node",
            None,
            "status.allocatable",
            {"cpu": "2", "memory": "1Gi"},
            id="allocatable defaults to capacity",
        ),
        pytest.param("Endpoints", None, "subsets[0].ports[0].protocol", "TCP", id="ep protocol"),
    ],
)
def test_defaults_fill_what_kubernetes_fills(
    kind: str, changes: dict[str, Any] | None, path: str, expected: Any
) -> None:
    out = _defaulted(kind, changes)
    try:
        actual = _get(out, path)
    except KeyError:
        actual = None
    assert actual == expected


def test_pods_tolerate_not_ready_and_unreachable_nodes_for_the_configured_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(defaults, "DEFAULT_NOT_READY_TOLERATION_SECONDS", 5)
    monkeypatch.setattr(defaults, "DEFAULT_UNREACHABLE_TOLERATION_SECONDS", 7)
    tolerations = _defaulted("Pod")["spec"]["tolerations"]
    assert tolerations == [
        {
            "key": key,
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": seconds,
        }
        for key, seconds in (
            ("node.kubernetes.io/not-ready", 5),
            ("node.kubernetes.io/unreachable", 7),
        )
    ]


def test_a_pod_that_tolerates_unreachable_nodes_keeps_its_own_toleration() -> None:
    own = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
    tolerations = _defaulted("Pod", {"spec.tolerations": [own]})["spec"]["tolerations"]
    assert tolerations[0] == own
    assert [t["key"] for t in tolerations] == [
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/not-ready",
    ]


def test_a_pod_that_tolerates_everything_gets_no_extra_tolerations() -> None:
    tolerations = _defaulted("Pod", {"spec.tolerations": [{"operator": "Exists"}]})["spec"][
        "tolerations"
    ]
    assert tolerations == [{"operator": "Exists"}]


def test_pod_templates_get_no_default_tolerations() -> None:
    assert "tolerations" not in _defaulted("Deployment")["spec"]["template"]["spec"]


def test_defaulting_twice_changes_nothing() -> None:
    for kind, manifest in MANIFESTS.items():
        k = by_kind(manifest["apiVersion"], kind)
        obj: Object = from_dict(k.message, manifest)  # type: ignore[assignment]
        strategy_for(k).apply_defaults(obj)
        once = obj.SerializeToString(deterministic=True)
        strategy_for(k).apply_defaults(obj)
        assert obj.SerializeToString(deterministic=True) == once, kind


def test_a_job_without_a_uid_gets_one_and_selects_by_it() -> None:
    out = _defaulted("Job", {"metadata": {"name": "pi"}})
    uid = out["metadata"]["uid"]
    assert uid
    assert out["spec"]["selector"]["matchLabels"] == {"batch.kubernetes.io/controller-uid": uid}


def test_a_job_with_a_limit_per_index_has_no_job_wide_limit_and_conditions_mean_true() -> None:
    rule = {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}
    out = _defaulted(
        "Job",
        {
            "spec.completionMode": "Indexed",
            "spec.completions": 2,
            "spec.backoffLimitPerIndex": 1,
            "spec.podFailurePolicy": {"rules": [rule]},
        },
    )
    assert out["spec"]["backoffLimit"] == 2**31 - 1
    (pattern,) = out["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"]
    assert pattern == {"type": "DisruptionTarget", "status": "True"}
    assert _defaulted("Job")["spec"]["backoffLimit"] == 6


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        pytest.param("busybox", "Always", id="no tag"),
        pytest.param("busybox:latest", "Always", id="latest"),
        pytest.param("busybox:1.35", "IfNotPresent", id="a version tag"),
        pytest.param("registry:5000/busybox", "Always", id="a registry port is not a tag"),
        pytest.param("registry:5000/busybox:1.35", "IfNotPresent", id="registry with tag"),
        pytest.param("busybox@sha256:" + "a" * 64, "IfNotPresent", id="a digest"),
    ],
)
def test_the_pull_policy_follows_the_image_tag(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy

"""Validation: every problem named by its field path, in Kubernetes' words."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from client.codec import from_dict
from client.kinds import Object, by_kind
from master.apiserver.defaults import apply_defaults
from master.apiserver.validation import validate

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
}


def _steps(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


def _change(data: Any, path: str, value: Any) -> None:
    *head, last = _steps(path)
    for step in head:
        data = data[step]
    if value is _DELETE:
        del data[last]
    else:
        data[last] = value


_DELETE = object()


def _object(kind: str, changes: dict[str, Any] | None = None) -> tuple[Any, Object]:
    manifest = copy.deepcopy(VALID[kind])
    for path, value in (changes or {}).items():
        _change(manifest, path, value)
    k = by_kind(manifest["apiVersion"], kind)
    obj: Object = from_dict(k.message, manifest)  # type: ignore[assignment]
    apply_defaults(k, obj)
    return k, obj


def _errors(kind: str, changes: dict[str, Any] | None = None) -> list[str]:
    k, obj = _object(kind, changes)
    return [str(e) for e in validate(k, obj)]


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_valid_object_of_every_kind_has_no_errors(kind: str) -> None:
    assert _errors(kind) == []


C0 = "spec.containers[0]"
TC0 = "spec.template.spec.containers[0]"
RFC1123_SUBDOMAIN = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric"
RFC1123_LABEL = "a lowercase RFC 1123 label must consist of lower case alphanumeric"
PORT_RANGE = "must be between 1 and 65535, inclusive"


def _container(**fields: Any) -> list[dict[str, Any]]:
    return [{**CONTAINER, **fields}]


CASES = [
    # ---- metadata ----
    (
        "Pod",
        {"metadata.name": "Foo_Bar"},
        f'metadata.name: Invalid value: "Foo_Bar": {RFC1123_SUBDOMAIN}',
        "an uppercase name",
    ),
    (
        "Pod",
        {"metadata.name": "a" * 254},
        'metadata.name: Invalid value: "' + "a" * 254 + '": must be no more than 253 characters',
        "a name longer than 253",
    ),
    (
        "Pod",
        {"metadata": {"labels": LABELS}},
        "metadata.name: Required value: name or generateName is required",
        "no name at all",
    ),
    (
        "Namespace",
        {"metadata.name": "a.b"},
        f'metadata.name: Invalid value: "a.b": {RFC1123_LABEL}',
        "a dotted namespace name",
    ),
    (
        "Service",
        {"metadata.name": "1web"},
        'metadata.name: Invalid value: "1web": a DNS-1035 label must consist',
        "a service name starting with a digit",
    ),
    (
        "Pod",
        {"metadata.generateName": "Web-"},
        'metadata.generateName: Invalid value: "Web-"',
        "an uppercase generateName",
    ),
    (
        "Pod",
        {"metadata.namespace": "Prod"},
        f'metadata.namespace: Invalid value: "Prod": {RFC1123_LABEL}',
        "an uppercase namespace",
    ),
    (
        "Node",
        {"metadata.namespace": "default"},
        "metadata.namespace: Forbidden: not allowed on this type",
        "a namespace on a node",
    ),
    (
        "Pod",
        {"metadata.labels": {"bad key": "x"}},
        'metadata.labels: Invalid value: "bad key": name part must consist of',
        "a label key with a space",
    ),
    (
        "Pod",
        {"metadata.labels": {"Example.com/a": "x"}},
        'metadata.labels: Invalid value: "Example.com/a": prefix part a lowercase RFC 1123 '
        "subdomain",
        "a label key with an uppercase prefix",
    ),
    (
        "Pod",
        {"metadata.labels": {"a/b/c": "x"}},
        'metadata.labels: Invalid value: "a/b/c": a qualified name must consist of',
        "a label key with two slashes",
    ),
    (
        "Pod",
        {"metadata.labels": {"k" * 64: "x"}},
        "name part must be no more than 63 characters",
        "a label key longer than 63",
    ),
    (
        "Pod",
        {"metadata.labels": {"app": "-web"}},
        'metadata.labels[app]: Invalid value: "-web": a valid label must be an empty string',
        "a label value starting with a dash",
    ),
    (
        "Pod",
        {"metadata.labels": {"app": "v" * 64}},
        'metadata.labels[app]: Invalid value: "'
        + "v" * 64
        + '": must be no more than 63 characters',
        "a label value longer than 63",
    ),
    (
        "Pod",
        {"metadata.annotations": {"big": "x" * (256 * 1024)}},
        "metadata.annotations: Too long: must have at most 262144 bytes",
        "annotations over 256 KiB",
    ),
    (
        "Pod",
        {
            "metadata.ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs"}
            ]
        },
        "metadata.ownerReferences[0].uid: Required value",
        "an owner reference without uid",
    ),
    (
        "Pod",
        {
            "metadata.ownerReferences": [
                {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": True},
                {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": True},
            ]
        },
        'metadata.ownerReferences: Invalid value: ["A/a", "B/b"]: Only one reference can have '
        "Controller set to true",
        "two controllers",
    ),
    (
        "Pod",
        {"metadata.finalizers": ["bad finalizer"]},
        'metadata.finalizers[0]: Invalid value: "bad finalizer"',
        "a finalizer with a space",
    ),
    # ---- pods: containers ----
    ("Pod", {"spec.containers": []}, "spec.containers: Required value", "no containers"),
    (
        "Pod",
        {"spec.containers": [{"image": "busybox"}]},
        f"{C0}.name: Required value",
        "a container without a name",
    ),
    (
        "Pod",
        {"spec.containers": _container(name="Web")},
        f'{C0}.name: Invalid value: "Web": {RFC1123_LABEL}',
        "an uppercase container name",
    ),
    (
        "Pod",
        {"spec.containers": [{"name": "a"}]},
        f"{C0}.image: Required value",
        "a container without an image",
    ),
    (
        "Pod",
        {"spec.containers": [CONTAINER, CONTAINER]},
        'spec.containers[1].name: Duplicate value: "app"',
        "two containers with one name",
    ),
    (
        "Pod",
        {"spec.initContainers": [CONTAINER]},
        'spec.containers[0].name: Duplicate value: "app"',
        "an init container sharing a name",
    ),
    (
        "Pod",
        {"spec.containers": _container(imagePullPolicy="Sometimes")},
        f'{C0}.imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", '
        '"IfNotPresent", "Never"',
        "an unknown pull policy",
    ),
    (
        "Pod",
        {"spec.restartPolicy": "Sometimes"},
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
        '"OnFailure", "Never"',
        "an unknown restart policy",
    ),
    (
        "Pod",
        {"spec.dnsPolicy": "Google"},
        'spec.dnsPolicy: Unsupported value: "Google"',
        "an unknown DNS policy",
    ),
    (
        "Pod",
        {"spec.terminationGracePeriodSeconds": -1},
        "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0",
        "a negative grace period",
    ),
    (
        "Pod",
        {"spec.activeDeadlineSeconds": 0},
        "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
        "a zero deadline",
    ),
    (
        "Pod",
        {"spec.nodeName": "Node_1"},
        'spec.nodeName: Invalid value: "Node_1"',
        "an invalid node name",
    ),
    (
        "Pod",
        {"spec.nodeSelector": {"disk": "ssd!"}},
        'spec.nodeSelector[disk]: Invalid value: "ssd!"',
        "an invalid node selector value",
    ),
    # ---- pods: ports ----
    (
        "Pod",
        {"spec.containers": _container(ports=[{"containerPort": 0}])},
        f"{C0}.ports[0].containerPort: Invalid value: 0: {PORT_RANGE}",
        "container port 0 is out of range",
    ),
    (
        "Pod",
        {"spec.containers": _container(ports=[{"containerPort": 70000}])},
        f"{C0}.ports[0].containerPort: Invalid value: 70000: {PORT_RANGE}",
        "container port 70000 is out of range",
    ),
    (
        "Pod",
        {"spec.containers": _container(ports=[{"containerPort": 80, "hostPort": 65536}])},
        f"{C0}.ports[0].hostPort: Invalid value: 65536: {PORT_RANGE}",
        "a host port out of range",
    ),
    (
        "Pod",
        {"spec.containers": _container(ports=[{"containerPort": 80, "protocol": "HTTP"}])},
        f'{C0}.ports[0].protocol: Unsupported value: "HTTP": supported values: "TCP", "UDP", '
        '"SCTP"',
        "an unknown protocol",
    ),
    (
        "Pod",
        {"spec.containers": _container(ports=[{"containerPort": 80, "name": "http_web"}])},
        f'{C0}.ports[0].name: Invalid value: "http_web": must contain only alpha-numeric '
        "characters (a-z, 0-9), and hyphens (-)",
        "a port name with an underscore",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                ports=[{"containerPort": 80, "name": "a-very-long-port-name"}]
            )
        },
        "must be no more than 15 characters",
        "a port name longer than 15",
    ),
    (
        "Pod",
        {"spec.containers": _container(ports=[{"containerPort": 80, "name": "8080"}])},
        "must contain at least one letter (a-z)",
        "a port name without letters",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                ports=[{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}]
            )
        },
        f'{C0}.ports[1].name: Duplicate value: "http"',
        "two ports with one name",
    ),
    (
        "Pod",
        {
            "spec.hostNetwork": True,
            "spec.containers": _container(ports=[{"containerPort": 80, "hostPort": 81}]),
        },
        f"{C0}.ports[0].hostPort: Invalid value: 81: must match `containerPort` when "
        "`hostNetwork` is true",
        "host network with another host port",
    ),
    # ---- pods: resources ----
    (
        "Pod",
        {"spec.containers": _container(resources={"requests": {"cpu": "abc"}})},
        f'{C0}.resources.requests[cpu]: Invalid value: "abc": quantities must match the regular '
        "expression",
        "a malformed cpu quantity",
    ),
    (
        "Pod",
        {"spec.containers": _container(resources={"limits": {"memory": "-1Gi"}})},
        f'{C0}.resources.limits[memory]: Invalid value: "-1Gi": must be greater than or equal to 0',
        "a negative memory limit",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}
            )
        },
        f'{C0}.resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu '
        "limit of 1500m",
        "a request above its limit",
    ),
    (
        "Pod",
        {"spec.containers": _container(resources={"limits": {"gpu": "1"}})},
        f'{C0}.resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or '
        "fully qualified",
        "an unknown resource name",
    ),
    # ---- pods: env ----
    (
        "Pod",
        {"spec.containers": _container(env=[{"name": "1BAD", "value": "x"}])},
        f'{C0}.env[0].name: Invalid value: "1BAD": a valid environment variable name',
        "an env name starting with a digit",
    ),
    (
        "Pod",
        {"spec.containers": _container(env=[{"value": "x"}])},
        f"{C0}.env[0].name: Required value",
        "an env var without a name",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                env=[
                    {
                        "name": "A",
                        "value": "x",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                    }
                ]
            )
        },
        f'{C0}.env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
        "both value and valueFrom",
    ),
    (
        "Pod",
        {"spec.containers": _container(env=[{"name": "A", "valueFrom": {}}])},
        f'{C0}.env[0].valueFrom: Invalid value: "": must specify one of',
        "an empty valueFrom",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                env=[{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.foo"}}}]
            )
        },
        f'{C0}.env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.foo"',
        "an unsupported fieldRef",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                env=[{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "a/b"}}}]
            )
        },
        f'{C0}.env[0].valueFrom.configMapKeyRef.key: Invalid value: "a/b": a valid config key',
        "a configMap key with a slash",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                env=[{"name": "A", "valueFrom": {"secretKeyRef": {"key": "k"}}}]
            )
        },
        f"{C0}.env[0].valueFrom.secretKeyRef.name: Required value",
        "a secret ref without a name",
    ),
    (
        "Pod",
        {"spec.containers": _container(envFrom=[{"prefix": "P_"}])},
        f'{C0}.envFrom[0]: Invalid value: "": must specify one of: `configMapRef` or `secretRef`',
        "envFrom without a source",
    ),
    # ---- pods: volumes ----
    (
        "Pod",
        {"spec.containers": _container(volumeMounts=[{"name": "data", "mountPath": "/data"}])},
        f'{C0}.volumeMounts[0].name: Not found: "data"',
        "a mount of an undefined volume",
    ),
    (
        "Pod",
        {
            "spec.volumes": [{"name": "d"}],
            "spec.containers": _container(volumeMounts=[{"name": "d"}]),
        },
        f"{C0}.volumeMounts[0].mountPath: Required value",
        "a mount without a path",
    ),
    (
        "Pod",
        {
            "spec.volumes": [{"name": "d"}],
            "spec.containers": _container(
                volumeMounts=[{"name": "d", "mountPath": "/x"}, {"name": "d", "mountPath": "/x"}]
            ),
        },
        f'{C0}.volumeMounts[1].mountPath: Invalid value: "/x": must be unique',
        "two mounts on one path",
    ),
    (
        "Pod",
        {
            "spec.volumes": [{"name": "d"}],
            "spec.containers": _container(
                volumeMounts=[{"name": "d", "mountPath": "/x", "subPath": "../etc"}]
            ),
        },
        f"{C0}.volumeMounts[0].subPath: Invalid value: \"../etc\": must not contain '..'",
        "a subPath escaping the volume",
    ),
    (
        "Pod",
        {"spec.volumes": [{"name": "d"}, {"name": "d"}]},
        'spec.volumes[1].name: Duplicate value: "d"',
        "two volumes with one name",
    ),
    (
        "Pod",
        {"spec.volumes": [{"name": "Data"}]},
        f'spec.volumes[0].name: Invalid value: "Data": {RFC1123_LABEL}',
        "an uppercase volume name",
    ),
    (
        "Pod",
        {"spec.volumes": [{"name": "d", "emptyDir": {}, "hostPath": {"path": "/tmp"}}]},
        "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
        "two volume sources",
    ),
    (
        "Pod",
        {"spec.volumes": [{"name": "d", "hostPath": {}}]},
        "spec.volumes[0].hostPath.path: Required value",
        "a hostPath without a path",
    ),
    (
        "Pod",
        {"spec.volumes": [{"name": "d", "hostPath": {"path": "/x", "type": "Folder"}}]},
        'spec.volumes[0].hostPath.type: Unsupported value: "Folder"',
        "an unknown hostPath type",
    ),
    (
        "Pod",
        {"spec.volumes": [{"name": "d", "configMap": {}}]},
        "spec.volumes[0].configMap.name: Required value",
        "a configMap volume without a name",
    ),
    (
        "Pod",
        {"spec.volumes": [{"name": "d", "secret": {"secretName": "s", "defaultMode": 512}}]},
        "spec.volumes[0].secret.defaultMode: Invalid value: 512: must be a number between 0 and "
        "0777 (octal), both inclusive",
        "a file mode out of range",
    ),
    # ---- pods: probes ----
    (
        "Pod",
        {"spec.containers": _container(livenessProbe={"periodSeconds": 5})},
        f"{C0}.livenessProbe: Required value: must specify a handler type",
        "a probe without a handler",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                readinessProbe={"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}
            )
        },
        f"{C0}.readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
        "a probe with two handlers",
    ),
    (
        "Pod",
        {"spec.containers": _container(livenessProbe={"httpGet": {"port": 0}})},
        f"{C0}.livenessProbe.httpGet.port: Invalid value: 0: {PORT_RANGE}",
        "a probe on port 0",
    ),
    (
        "Pod",
        {"spec.containers": _container(livenessProbe={"tcpSocket": {"port": "HTTP"}})},
        f'{C0}.livenessProbe.tcpSocket.port: Invalid value: "HTTP": must contain only '
        "alpha-numeric",
        "a probe on an uppercase port name",
    ),
    (
        "Pod",
        {"spec.containers": _container(livenessProbe={"httpGet": {"port": 80, "scheme": "FTP"}})},
        f'{C0}.livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", '
        '"HTTPS"',
        "an unknown probe scheme",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                livenessProbe={"exec": {"command": ["true"]}, "successThreshold": 2}
            )
        },
        f"{C0}.livenessProbe.successThreshold: Invalid value: 2: must be 1",
        "a liveness success threshold above one",
    ),
    (
        "Pod",
        {
            "spec.containers": _container(
                readinessProbe={"exec": {"command": ["true"]}, "periodSeconds": -1}
            )
        },
        f"{C0}.readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        "a negative probe period",
    ),
    (
        "Pod",
        {"spec.containers": _container(readinessProbe={"exec": {}})},
        f"{C0}.readinessProbe.exec.command: Required value",
        "an exec probe without a command",
    ),
    (
        "Pod",
        {
            "spec.initContainers": [
                {"name": "init", "image": "b", "readinessProbe": {"exec": {"command": ["true"]}}}
            ]
        },
        "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers",
        "a probe on an init container",
    ),
    # ---- pods: scheduling ----
    (
        "Pod",
        {"spec.tolerations": [{"key": "k", "operator": "Maybe"}]},
        'spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Exists", '
        '"Equal"',
        "an unknown toleration operator",
    ),
    (
        "Pod",
        {"spec.tolerations": [{"key": "k", "effect": "NoRun"}]},
        'spec.tolerations[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"',
        "an unknown toleration effect",
    ),
    (
        "Pod",
        {"spec.tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]},
        'spec.tolerations[0].operator: Invalid value: "v": value must be empty when `operator` '
        "is 'Exists'",
        "an Exists toleration with a value",
    ),
    (
        "Pod",
        {"spec.tolerations": [{"value": "v"}]},
        'spec.tolerations[0].operator: Invalid value: "": operator must be Exists when `key` is '
        "empty",
        "a keyless Equal toleration",
    ),
    (
        "Pod",
        {"spec.tolerations": [{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5}]},
        "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' "
        "when `tolerationSeconds` is set",
        "toleration seconds on NoSchedule",
    ),
    (
        "Pod",
        {
            "spec.affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "zone", "operator": "Near", "values": ["a"]}
                                ]
                            }
                        ]
                    }
                }
            }
        },
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        '.nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported value: "Near"',
        "an unknown node selector operator",
    ),
    (
        "Pod",
        {
            "spec.affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "cpu", "operator": "Gt", "values": ["many"]}
                                ]
                            }
                        ]
                    }
                }
            }
        },
        'matchExpressions[0].values[0]: Invalid value: "many": must be an integer',
        "a Gt requirement on a non-number",
    ),
    (
        "Pod",
        {
            "spec.affinity": {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 0, "preference": {}}
                    ]
                }
            }
        },
        "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: "
        "Invalid value: 0: must be in the range 1-100",
        "a zero preference weight",
    ),
    (
        "Pod",
        {
            "spec.affinity": {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": LABELS}}
                    ]
                }
            }
        },
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
        ".topologyKey: Required value: can not be empty",
        "an anti-affinity term without a topology key",
    ),
    (
        "Pod",
        {
            "spec.affinity": {
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "topologyKey": "zone",
                            "labelSelector": {
                                "matchExpressions": [
                                    {"key": "app", "operator": "Exists", "values": ["x"]}
                                ]
                            },
                        }
                    ]
                }
            }
        },
        "labelSelector.matchExpressions[0].values: Forbidden: may not be specified when "
        "`operator` is 'Exists' or 'DoesNotExist'",
        "an affinity selector with values for Exists",
    ),
    (
        "Pod",
        {
            "spec.topologySpreadConstraints": [
                {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
            ]
        },
        "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero",
        "a zero max skew",
    ),
    (
        "Pod",
        {
            "spec.topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Whatever"}
            ]
        },
        'spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Whatever"',
        "an unknown whenUnsatisfiable",
    ),
    # ---- workloads ----
    (
        "Deployment",
        {"spec.replicas": -1},
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "negative replicas",
    ),
    (
        "ReplicaSet",
        {"spec.replicas": -2},
        "spec.replicas: Invalid value: -2: must be greater than or equal to 0",
        "negative replicaset replicas",
    ),
    (
        "Deployment",
        {"spec.selector": _DELETE},
        "spec.selector: Required value",
        "a deployment without a selector",
    ),
    (
        "Deployment",
        {"spec.selector": {}},
        "spec.selector: Invalid value: {}: empty selector is invalid for deployment",
        "an empty selector",
    ),
    (
        "Deployment",
        {"spec.selector": {"matchLabels": {"app": "db"}}},
        'spec.template.metadata.labels: Invalid value: {"app": "web"}: `selector` does not match '
        "template `labels`",
        "a selector that misses the template",
    ),
    (
        "ReplicaSet",
        {"spec.selector": {"matchExpressions": [{"key": "app", "operator": "Near"}]}},
        'spec.selector.matchExpressions[0].operator: Unsupported value: "Near"',
        "a selector with an unknown operator",
    ),
    (
        "DaemonSet",
        {"spec.template.metadata.labels": {"app": "other"}},
        "`selector` does not match template `labels`",
        "a daemonset template outside its selector",
    ),
    (
        "Deployment",
        {"spec.template.spec.restartPolicy": "Never"},
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
        "a deployment whose pods never restart",
    ),
    (
        "Deployment",
        {
            "spec.template.spec.containers": [
                {"name": "a", "image": "b", "ports": [{"containerPort": 0}]}
            ]
        },
        f"{TC0}.ports[0].containerPort: Invalid value: 0: {PORT_RANGE}",
        "a template container port 0",
    ),
    (
        "Deployment",
        {"spec.strategy": {"type": "Blue"}},
        'spec.strategy.type: Unsupported value: "Blue": supported values: "Recreate", '
        '"RollingUpdate"',
        "an unknown strategy",
    ),
    (
        "Deployment",
        {"spec.strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}},
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
        "'Recreate'",
        "rolling parameters for recreate",
    ),
    (
        "Deployment",
        {"spec.strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}},
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
        "`maxSurge` is 0",
        "a rollout that can never progress",
    ),
    (
        "Deployment",
        {"spec.strategy": {"rollingUpdate": {"maxSurge": "ten"}}},
        'spec.strategy.rollingUpdate.maxSurge: Invalid value: "ten": a valid percent string',
        "a surge that is not a percentage",
    ),
    (
        "Deployment",
        {"spec.strategy": {"rollingUpdate": {"maxUnavailable": "150%"}}},
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater '
        "than 100%",
        "more than all pods unavailable",
    ),
    (
        "Deployment",
        {"spec.minReadySeconds": 700},
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
        "a deadline shorter than minReadySeconds",
    ),
    (
        "DaemonSet",
        {"spec.updateStrategy": {"type": "Sometimes"}},
        'spec.updateStrategy.type: Unsupported value: "Sometimes": supported values: "OnDelete", '
        '"RollingUpdate"',
        "an unknown daemonset strategy",
    ),
    (
        "Job",
        {"spec.template.spec.restartPolicy": "Always"},
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
        '"OnFailure", "Never"',
        "a job whose pods always restart",
    ),
    (
        "Job",
        {"spec.template.spec.restartPolicy": _DELETE},
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
        "a job without a restart policy",
    ),
    (
        "Job",
        {"spec.backoffLimit": -1},
        "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
        "a negative backoff limit",
    ),
    (
        "Job",
        {"spec.parallelism": -1},
        "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
        "negative parallelism",
    ),
    (
        "Job",
        {"spec.completionMode": "Sorted"},
        'spec.completionMode: Unsupported value: "Sorted"',
        "an unknown completion mode",
    ),
    (
        "Job",
        {"spec.selector": {"matchLabels": {"app": "pi"}}},
        "`selector` does not match template `labels`",
        "a job selector without manualSelector must match",
    ),
    (
        "Job",
        {"spec.manualSelector": True, "spec.selector": {"matchLabels": {"app": "other"}}},
        "spec.template.metadata.labels: Invalid value",
        "a manual selector missing the template",
    ),
    # ---- services ----
    ("Service", {"spec.ports": []}, "spec.ports: Required value", "a service without ports"),
    (
        "Service",
        {"spec.ports": [{"port": 0}]},
        f"spec.ports[0].port: Invalid value: 0: {PORT_RANGE}",
        "service port 0",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "targetPort": 70000}]},
        f"spec.ports[0].targetPort: Invalid value: 70000: {PORT_RANGE}",
        "a target port out of range",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "targetPort": "web_port"}]},
        'spec.ports[0].targetPort: Invalid value: "web_port"',
        "a target port name with an underscore",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "protocol": "ICMP"}]},
        'spec.ports[0].protocol: Unsupported value: "ICMP"',
        "an unknown service protocol",
    ),
    (
        "Service",
        {"spec.type": "Internal"},
        'spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", '
        '"LoadBalancer", "NodePort"',
        "an unknown service type",
    ),
    (
        "Service",
        {"spec.sessionAffinity": "Sticky"},
        'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
        "an unknown session affinity",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "name": "a"}, {"port": 81}]},
        "spec.ports[1].name: Required value",
        "an unnamed port among several",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]},
        'spec.ports[1].name: Duplicate value: "a"',
        "two service ports with one name",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]},
        'spec.ports[1]: Duplicate value: "80/TCP"',
        "one port number twice",
    ),
    (
        "Service",
        {"spec.ports": [{"port": 80, "nodePort": 30080}]},
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
        "a node port on a ClusterIP service",
    ),
    (
        "Service",
        {"spec.type": "NodePort", "spec.ports": [{"port": 80, "nodePort": 80}]},
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The "
        "range of valid ports is 30000-32767",
        "a node port outside the range",
    ),
    (
        "Service",
        {"spec.clusterIP": "10.0.0.300"},
        'spec.clusterIP: Invalid value: "10.0.0.300": must be a valid IP address',
        "an invalid cluster IP",
    ),
    (
        "Service",
        {"spec.selector": {"app": "a b"}},
        'spec.selector[app]: Invalid value: "a b"',
        "an invalid selector value",
    ),
    (
        "Endpoints",
        {"subsets[0].addresses[0].ip": "not-an-ip"},
        'subsets[0].addresses[0].ip: Invalid value: "not-an-ip": must be a valid IP address',
        "an endpoint address that is not an IP",
    ),
    (
        "Endpoints",
        {"subsets[0].ports[0].port": 0},
        f"subsets[0].ports[0].port: Invalid value: 0: {PORT_RANGE}",
        "an endpoint port 0",
    ),
    # ---- the smaller kinds ----
    (
        "ConfigMap",
        {"data": {"a/b": "x"}},
        'data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric '
        "characters",
        "a config key with a slash",
    ),
    (
        "ConfigMap",
        {"data": {"..a": "x"}},
        "data[..a]: Invalid value: \"..a\": must not start with '..'",
        "a config key starting with dots",
    ),
    (
        "ConfigMap",
        {"binaryData": {"app.conf": "eA=="}},
        'binaryData[app.conf]: Invalid value: "app.conf": duplicate of key present in data',
        "a key in data and binaryData",
    ),
    (
        "ConfigMap",
        {"data": {"big": "x" * (1024 * 1024)}},
        "data: Too long: must have at most 1048576 bytes",
        "a config map over 1 MiB",
    ),
    (
        "Secret",
        {"data": {"bad key": "eA=="}},
        'data[bad key]: Invalid value: "bad key"',
        "a secret key with a space",
    ),
    (
        "Node",
        {"spec.taints": [{"key": "k", "effect": "Sometimes"}]},
        'spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"',
        "an unknown taint effect",
    ),
    (
        "Node",
        {"spec.taints": [{"effect": "NoSchedule"}]},
        "spec.taints[0].key: Required value",
        "a taint without a key",
    ),
    (
        "Node",
        {
            "spec.taints": [
                {"key": "k", "effect": "NoSchedule"},
                {"key": "k", "value": "v", "effect": "NoSchedule"},
            ]
        },
        'spec.taints[1]: Duplicate value: "k:NoSchedule": taints must be unique by key and effect '
        "pair",
        "two taints with one key and effect",
    ),
    (
        "Node",
        {"spec.podCIDR": "10.0.0.0/33"},
        'spec.podCIDR: Invalid value: "10.0.0.0/33": must be a valid CIDR value',
        "an invalid pod CIDR",
    ),
    (
        "Node",
        {"status.capacity": {"cpu": "two"}},
        'status.capacity[cpu]: Invalid value: "two": quantities must match',
        "a malformed capacity",
    ),
    (
        "Node",
        {"status.addresses": [{"type": "Public", "address": "x"}]},
        'status.addresses[0].type: Unsupported value: "Public"',
        "an unknown address type",
    ),
    (
        "Node",
        {"status.conditions": [{"type": "Ready", "status": "Yes"}]},
        'status.conditions[0].status: Unsupported value: "Yes": supported values: "True", '
        '"False", "Unknown"',
        "a condition status that is not True/False/Unknown",
    ),
    (
        "Event",
        {"involvedObject.namespace": "other"},
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
        "an event about an object elsewhere",
    ),
    (
        "Event",
        {"type": "Fatal"},
        'type: Unsupported value: "Fatal": supported values: "Normal", "Warning"',
        "an unknown event type",
    ),
    (
        "Lease",
        {"spec.leaseDurationSeconds": 0},
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
        "a zero lease duration",
    ),
    (
        "Lease",
        {"spec.leaseTransitions": -1},
        "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
        "negative lease transitions",
    ),
    (
        "PriorityClass",
        {"value": 2_000_000_000},
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
        "a user priority above one billion",
    ),
    (
        "PriorityClass",
        {"metadata.name": "system-mine"},
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved",
        "a reserved system- name",
    ),
    (
        "PriorityClass",
        {"preemptionPolicy": "Always"},
        'preemptionPolicy: Unsupported value: "Always": supported values: "PreemptLowerPriority", '
        '"Never"',
        "an unknown preemption policy",
    ),
]


@pytest.mark.parametrize(
    ("kind", "changes", "expected"),
    [pytest.param(kind, changes, expected, id=name) for kind, changes, expected, name in CASES],
)
def test_an_invalid_object_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    errors = _errors(kind, changes)
    assert any(expected in e for e in errors), "\n".join(errors) or "no errors"


def test_every_problem_is_reported_at_once() -> None:
    errors = _errors(
        "Pod",
        {
            "metadata.name": "Bad_Name",
            "spec.containers": [{"name": "A", "ports": [{"containerPort": 0}]}],
        },
    )
    paths = [e.split(":")[0] for e in errors]
    assert paths == [
        "metadata.name",
        "spec.containers[0].name",
        "spec.containers[0].image",
        "spec.containers[0].ports[0].containerPort",
    ]


def test_a_name_may_be_left_to_generate_name() -> None:
    assert _errors("Pod", {"metadata": {"generateName": "web-"}}) == []


def test_the_two_system_priority_classes_are_allowed() -> None:
    errors = _errors(
        "PriorityClass", {"metadata.name": "system-node-critical", "value": 2_000_001_000}
    )
    assert errors == []


# ---- updates ----


def _update_errors(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any]
) -> list[str]:
    k, old = _object(kind, old_changes)
    _, new = _object(kind, {**(old_changes or {}), **new_changes})
    return [str(e) for e in validate(k, new, old)]


UPDATES = [
    (
        "Pod",
        None,
        {"metadata.name": "web-2"},
        'metadata.name: Invalid value: "web-2": field is immutable',
        "a renamed object",
    ),
    (
        "Deployment",
        {"metadata.uid": "u1"},
        {"metadata.uid": "u2"},
        'metadata.uid: Invalid value: "u2": field is immutable',
        "a changed uid",
    ),
    (
        "Deployment",
        None,
        {
            "spec.selector": {"matchLabels": {"app": "web", "v": "2"}},
            "spec.template.metadata.labels": {"app": "web", "v": "2"},
        },
        "spec.selector: Invalid value: "
        '"{\\"matchLabels\\": {\\"app\\": \\"web\\", \\"v\\": \\"2\\"}}": field is immutable',
        "a changed deployment selector",
    ),
    (
        "ReplicaSet",
        None,
        {
            "spec.selector": {"matchLabels": {"app": "web", "v": "2"}},
            "spec.template.metadata.labels": {"app": "web", "v": "2"},
        },
        "spec.selector: Invalid value",
        "a changed replicaset selector",
    ),
    (
        "DaemonSet",
        None,
        {"spec.selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}},
        "spec.selector: Invalid value",
        "a changed daemonset selector",
    ),
    (
        "Job",
        None,
        {"spec.template.spec.containers": [{"name": "app", "image": "busybox:1.36"}]},
        'spec.template: Invalid value: "...": field is immutable',
        "a changed job template",
    ),
    (
        "Pod",
        None,
        {"spec.containers": _container(ports=[{"containerPort": 80}])},
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`",
        "a pod whose ports change",
    ),
    (
        "Pod",
        None,
        {"spec.restartPolicy": "Never"},
        "spec: Forbidden: pod updates may not change fields other than",
        "a pod whose restart policy changes",
    ),
    (
        "Pod",
        {"spec.nodeName": "node-a"},
        {"spec.nodeName": "node-b"},
        'spec.nodeName: Invalid value: "node-b": field is immutable once the pod is bound to a '
        "node",
        "a bound pod moved to another node",
    ),
    (
        "Pod",
        {"spec.tolerations": [{"key": "a", "operator": "Exists"}]},
        {"spec.tolerations": []},
        "spec.tolerations: Forbidden: existing toleration can not be modified",
        "a removed toleration",
    ),
    (
        "Pod",
        {"spec.activeDeadlineSeconds": 10},
        {"spec.activeDeadlineSeconds": 20},
        "spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous "
        "value",
        "a longer pod deadline",
    ),
    (
        "Service",
        {"spec.clusterIP": "10.96.0.10"},
        {"spec.clusterIP": "10.96.0.11"},
        'spec.clusterIP: Invalid value: "10.96.0.11": field is immutable',
        "a changed cluster IP",
    ),
    (
        "ConfigMap",
        {"immutable": True},
        {"data": {"app.conf": "x=2"}},
        "data: Forbidden: field is immutable when `immutable` is set",
        "an immutable config map's data",
    ),
    (
        "PriorityClass",
        None,
        {"value": 5},
        "value: Forbidden: may not be changed in an update.",
        "a changed priority value",
    ),
]


@pytest.mark.parametrize(
    ("kind", "old_changes", "new_changes", "expected"),
    [pytest.param(k, o, n, e, id=name) for k, o, n, e, name in UPDATES],
)
def test_a_forbidden_update_gets_an_error_naming_the_field(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    errors = _update_errors(kind, old_changes, new_changes)
    assert any(expected in e for e in errors), "\n".join(errors) or "no errors"


ALLOWED_UPDATES = [
    ("Pod", None, {"spec.containers": _container(image="busybox:1.36")}, "a pod's image"),
    ("Pod", None, {"spec.nodeName": "node-a"}, "binding a pod to a node"),
    ("Pod", None, {"metadata.labels": {"app": "web", "extra": "yes"}}, "a pod's labels"),
    (
        "Pod",
        None,
        {"spec.tolerations": [{"key": "a", "operator": "Exists"}]},
        "an added toleration",
    ),
    ("Pod", None, {"spec.activeDeadlineSeconds": 30}, "a pod deadline set for the first time"),
    ("Deployment", None, {"spec.replicas": 5}, "a deployment scaled"),
    (
        "Deployment",
        None,
        {"spec.template.spec.containers": _container(image="busybox:1.36")},
        "a deployment's new image",
    ),
    (
        "Service",
        {"spec.clusterIP": "10.96.0.10"},
        {"spec.ports": [{"port": 81}]},
        "a service's ports",
    ),
    ("ConfigMap", None, {"data": {"app.conf": "x=2"}}, "a mutable config map's data"),
    ("Job", None, {"spec.parallelism": 4, "spec.completions": 1}, "a job's parallelism"),
]


@pytest.mark.parametrize(
    ("kind", "old_changes", "new_changes"),
    [pytest.param(k, o, n, id=name) for k, o, n, name in ALLOWED_UPDATES],
)
def test_an_allowed_update_has_no_errors(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any]
) -> None:
    assert _update_errors(kind, old_changes, new_changes) == []


def test_status_changes_are_never_an_update_error() -> None:
    k, old = _object("Pod", {"spec.nodeName": "node-a"})
    _, new = _object("Pod", {"spec.nodeName": "node-a", "status": {"phase": "Running"}})
    assert validate(k, new, old) == []

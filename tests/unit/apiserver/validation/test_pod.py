"""Validation of pods and pod templates (validation/pod.py): containers, ports, resources,
env, volumes, probes, scheduling, and what a pod update may change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.apiserver.validation.cases import (
    C0,
    CONTAINER,
    LABELS,
    PORT_RANGE,
    RFC1123_LABEL,
    AllowedUpdate,
    Case,
    UpdateCase,
    allowed_params,
    assert_named,
    container,
    errors_of,
    invalid_params,
    update_errors,
    update_params,
)

CASES: list[Case] = [
    # ---- containers ----
    ("Pod", {"spec.containers": []}, "spec.containers: Required value", "no containers"),
    (
        "Pod",
        {"spec.containers": [{"image": "busybox"}]},
        f"{C0}.name: Required value",
        "a container without a name",
    ),
    (
        "Pod",
        {"spec.containers": container(name="Web")},
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
        {"spec.containers": container(imagePullPolicy="Sometimes")},
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
    # ---- ports ----
    (
        "Pod",
        {"spec.containers": container(ports=[{"containerPort": 0}])},
        f"{C0}.ports[0].containerPort: Invalid value: 0: {PORT_RANGE}",
        "container port 0 is out of range",
    ),
    (
        "Pod",
        {"spec.containers": container(ports=[{"containerPort": 70000}])},
        f"{C0}.ports[0].containerPort: Invalid value: 70000: {PORT_RANGE}",
        "container port 70000 is out of range",
    ),
    (
        "Pod",
        {"spec.containers": container(ports=[{"containerPort": 80, "hostPort": 65536}])},
        f"{C0}.ports[0].hostPort: Invalid value: 65536: {PORT_RANGE}",
        "a host port out of range",
    ),
    (
        "Pod",
        {"spec.containers": container(ports=[{"containerPort": 80, "protocol": "HTTP"}])},
        f'{C0}.ports[0].protocol: Unsupported value: "HTTP": supported values: "TCP", "UDP", '
        '"SCTP"',
        "an unknown protocol",
    ),
    (
        "Pod",
        {"spec.containers": container(ports=[{"containerPort": 80, "name": "http_web"}])},
        f'{C0}.ports[0].name: Invalid value: "http_web": must contain only alpha-numeric '
        "characters (a-z, 0-9), and hyphens (-)",
        "a port name with an underscore",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                ports=[{"containerPort": 80, "name": "a-very-long-port-name"}]
            )
        },
        "must be no more than 15 characters",
        "a port name longer than 15",
    ),
    (
        "Pod",
        {"spec.containers": container(ports=[{"containerPort": 80, "name": "8080"}])},
        "must contain at least one letter (a-z)",
        "a port name without letters",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
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
            "spec.containers": container(ports=[{"containerPort": 80, "hostPort": 81}]),
        },
        f"{C0}.ports[0].hostPort: Invalid value: 81: must match `containerPort` when "
        "`hostNetwork` is true",
        "host network with another host port",
    ),
    # ---- resources ----
    (
        "Pod",
        {"spec.containers": container(resources={"requests": {"cpu": "abc"}})},
        f'{C0}.resources.requests[cpu]: Invalid value: "abc": quantities must match the regular '
        "expression",
        "a malformed cpu quantity",
    ),
    (
        "Pod",
        {"spec.containers": container(resources={"limits": {"memory": "-1Gi"}})},
        f'{C0}.resources.limits[memory]: Invalid value: "-1Gi": must be greater than or equal to 0',
        "a negative memory limit",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}
            )
        },
        f'{C0}.resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu '
        "limit of 1500m",
        "a request above its limit",
    ),
    (
        "Pod",
        {"spec.containers": container(resources={"limits": {"gpu": "1"}})},
        f'{C0}.resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or '
        "fully qualified",
        "an unknown resource name",
    ),
    # ---- env ----
    (
        "Pod",
        {"spec.containers": container(env=[{"name": "1BAD", "value": "x"}])},
        f'{C0}.env[0].name: Invalid value: "1BAD": a valid environment variable name',
        "an env name starting with a digit",
    ),
    (
        "Pod",
        {"spec.containers": container(env=[{"value": "x"}])},
        f"{C0}.env[0].name: Required value",
        "an env var without a name",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
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
        {"spec.containers": container(env=[{"name": "A", "valueFrom": {}}])},
        f'{C0}.env[0].valueFrom: Invalid value: "": must specify one of',
        "an empty valueFrom",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                env=[{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.foo"}}}]
            )
        },
        f'{C0}.env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.foo"',
        "an unsupported fieldRef",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                env=[{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "a/b"}}}]
            )
        },
        f'{C0}.env[0].valueFrom.configMapKeyRef.key: Invalid value: "a/b": a valid config key',
        "a configMap key with a slash",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                env=[{"name": "A", "valueFrom": {"secretKeyRef": {"key": "k"}}}]
            )
        },
        f"{C0}.env[0].valueFrom.secretKeyRef.name: Required value",
        "a secret ref without a name",
    ),
    (
        "Pod",
        {"spec.containers": container(envFrom=[{"prefix": "P_"}])},
        f'{C0}.envFrom[0]: Invalid value: "": must specify one of: `configMapRef` or `secretRef`',
        "envFrom without a source",
    ),
    # ---- volumes ----
    (
        "Pod",
        {"spec.containers": container(volumeMounts=[{"name": "data", "mountPath": "/data"}])},
        f'{C0}.volumeMounts[0].name: Not found: "data"',
        "a mount of an undefined volume",
    ),
    (
        "Pod",
        {
            "spec.volumes": [{"name": "d"}],
            "spec.containers": container(volumeMounts=[{"name": "d"}]),
        },
        f"{C0}.volumeMounts[0].mountPath: Required value",
        "a mount without a path",
    ),
    (
        "Pod",
        {
            "spec.volumes": [{"name": "d"}],
            "spec.containers": container(
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
            "spec.containers": container(
                volumeMounts=[{"name": "d", "mountPath": "/x", "subPath": "../etc"}]
            ),
        },
        f"{C0}.volumeMounts[0].subPath: Invalid value: \"../etc\": must not contain '..'",
        "a subPath escaping the volume",
    ),
    (
        "Pod",
        {
            "spec.volumes": [{"name": "d"}],
            "spec.containers": container(
                volumeMounts=[{"name": "d", "mountPath": "/x", "mountPropagation": "Bidirectional"}]
            ),
        },
        f"{C0}.volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is "
        "available only to privileged containers",
        "Bidirectional propagation in an unprivileged container",
    ),
    (
        "Pod",
        {
            "spec.volumes": [{"name": "d"}],
            "spec.containers": container(
                volumeMounts=[{"name": "d", "mountPath": "/x", "mountPropagation": "Sideways"}]
            ),
        },
        f'{C0}.volumeMounts[0].mountPropagation: Unsupported value: "Sideways"',
        "an unknown propagation",
    ),
    (
        "Pod",
        {
            "spec.volumes": [{"name": "d"}],
            "spec.containers": container(
                volumeMounts=[{"name": "d", "mountPath": "/x", "recursiveReadOnly": "Enabled"}]
            ),
        },
        f"{C0}.volumeMounts[0].recursiveReadOnly: Forbidden: may only be specified when "
        "readOnly is true",
        "recursiveReadOnly on a writable mount",
    ),
    (
        "Pod",
        {
            "spec.volumes": [{"name": "d"}],
            "spec.containers": container(
                volumeMounts=[{"name": "d", "mountPath": "/x", "subPath": "a", "subPathExpr": "b"}]
            ),
        },
        f'{C0}.volumeMounts[0].subPathExpr: Invalid value: "b": subPathExpr and subPath are '
        "mutually exclusive",
        "subPath and subPathExpr together",
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
    (
        "Pod",
        {"spec.volumes": [{"name": "d", "downwardAPI": {"items": [{"path": "x"}]}}]},
        "spec.volumes[0].downwardAPI.items[0]: Required value: one of fieldRef and "
        "resourceFieldRef is required",
        "a downward file with no source",
    ),
    (
        "Pod",
        {
            "spec.volumes": [
                {
                    "name": "d",
                    "downwardAPI": {
                        "items": [{"path": "x", "fieldRef": {"fieldPath": "spec.nodeName"}}]
                    },
                }
            ]
        },
        'spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: Unsupported value: "spec.'
        'nodeName"',
        "a downward file of a field only env may name",
    ),
    (
        "Pod",
        {
            "spec.volumes": [
                {
                    "name": "d",
                    "downwardAPI": {
                        "items": [{"path": "x", "resourceFieldRef": {"resource": "limits.cpu"}}]
                    },
                }
            ]
        },
        "spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName: Required value",
        "a downward resource file without its container",
    ),
    (
        "Pod",
        {
            "spec.volumes": [
                {
                    "name": "d",
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "../x",
                                "fieldRef": {"fieldPath": "metadata.name"},
                            }
                        ]
                    },
                }
            ]
        },
        "spec.volumes[0].downwardAPI.items[0].path: Invalid value: \"../x\": must not contain '..'",
        "a downward file climbing out of its volume",
    ),
    (
        "Pod",
        {
            "spec.volumes": [
                {
                    "name": "p",
                    "projected": {
                        "sources": [
                            {"secret": {"name": "s"}, "configMap": {"name": "c"}},
                        ]
                    },
                }
            ]
        },
        "spec.volumes[0].projected.sources[0]: Forbidden: may not specify more than 1 volume "
        "type per source",
        "a projection of two kinds",
    ),
    (
        "Pod",
        {
            "spec.volumes": [
                {
                    "name": "p",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"path": "t", "expirationSeconds": 60}},
                        ]
                    },
                }
            ]
        },
        "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: Invalid "
        "value: 60: may not specify a duration less than 10 minutes",
        "a projected token living under ten minutes",
    ),
    (
        "Pod",
        {
            "spec.volumes": [
                {
                    "name": "p",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"path": "same"}},
                            {"configMap": {"name": "c", "items": [{"key": "k", "path": "same"}]}},
                        ]
                    },
                }
            ]
        },
        'spec.volumes[0].projected: Invalid value: "c": conflicting duplicate paths',
        "two projected sources writing one path",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                env=[{"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}}]
            )
        },
        f'{C0}.env[0].valueFrom.resourceFieldRef.resource: Unsupported value: "limits.gpu"',
        "an env var of an unknown resource",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                env=[
                    {
                        "name": "C",
                        "valueFrom": {
                            "resourceFieldRef": {"resource": "limits.cpu", "divisor": "1k"}
                        },
                    }
                ]
            )
        },
        f'{C0}.env[0].valueFrom.resourceFieldRef.divisor: Invalid value: "1k": only divisor\'s '
        "values 1m and 1 are supported with the cpu resource",
        "a cpu divisor Kubernetes refuses",
    ),
    # ---- scheduling gates ----
    (
        "Pod",
        {"spec.schedulingGates": [{"name": "example.com/a"}, {"name": "example.com/a"}]},
        'spec.schedulingGates[1]: Duplicate value: "example.com/a"',
        "a scheduling gate named twice",
    ),
    (
        "Pod",
        {"spec.schedulingGates": [{"name": "not a name"}]},
        'spec.schedulingGates[0]: Invalid value: "not a name"',
        "a scheduling gate that is no qualified name",
    ),
    (
        "Pod",
        {"spec.schedulingGates": [{"name": "example.com/a"}], "spec.nodeName": "n1"},
        "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared",
        "a gated pod already bound",
    ),
    # ---- names and processes ----
    (
        "Pod",
        {"spec.dnsPolicy": "None"},
        "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
        "dnsPolicy None without a dnsConfig",
    ),
    (
        "Pod",
        {"spec.dnsPolicy": "None", "spec.dnsConfig": {"searches": ["a.example"]}},
        "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver",
        "dnsPolicy None without a nameserver",
    ),
    (
        "Pod",
        {"spec.dnsConfig": {"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"]}},
        "spec.dnsConfig.nameservers: Invalid value: ",
        "four nameservers",
    ),
    (
        "Pod",
        {"spec.dnsConfig": {"nameservers": ["dns.example"]}},
        'spec.dnsConfig.nameservers[0]: Invalid value: "dns.example": must be a valid IP address',
        "a nameserver by name",
    ),
    (
        "Pod",
        {"spec.dnsConfig": {"searches": ["Bad_Domain"]}},
        'spec.dnsConfig.searches[0]: Invalid value: "Bad_Domain"',
        "a search domain that is no domain",
    ),
    (
        "Pod",
        {"spec.dnsConfig": {"options": [{"value": "2"}]}},
        "spec.dnsConfig.options[0].name: Required value",
        "a resolver option without a name",
    ),
    (
        "Pod",
        {"spec.hostAliases": [{"ip": "not-an-ip", "hostnames": ["foo.local"]}]},
        'spec.hostAliases[0].ip: Invalid value: "not-an-ip": must be a valid IP address',
        "a host alias without an address",
    ),
    (
        "Pod",
        {"spec.hostAliases": [{"ip": "127.0.0.1", "hostnames": ["Foo_Local"]}]},
        'spec.hostAliases[0].hostnames[0]: Invalid value: "Foo_Local"',
        "a host alias that is no host name",
    ),
    (
        "Pod",
        {"spec.shareProcessNamespace": True, "spec.hostPID": True},
        "spec.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID "
        "cannot both be enabled",
        "a shared process namespace on the host's",
    ),
    # ---- probes ----
    (
        "Pod",
        {"spec.containers": container(livenessProbe={"periodSeconds": 5})},
        f"{C0}.livenessProbe: Required value: must specify a handler type",
        "a probe without a handler",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                readinessProbe={"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}
            )
        },
        f"{C0}.readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
        "a probe with two handlers",
    ),
    (
        "Pod",
        {"spec.containers": container(livenessProbe={"httpGet": {"port": 0}})},
        f"{C0}.livenessProbe.httpGet.port: Invalid value: 0: {PORT_RANGE}",
        "a probe on port 0",
    ),
    (
        "Pod",
        {"spec.containers": container(livenessProbe={"tcpSocket": {"port": "HTTP"}})},
        f'{C0}.livenessProbe.tcpSocket.port: Invalid value: "HTTP": must contain only '
        "alpha-numeric",
        "a probe on an uppercase port name",
    ),
    (
        "Pod",
        {"spec.containers": container(livenessProbe={"httpGet": {"port": 80, "scheme": "FTP"}})},
        f'{C0}.livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", '
        '"HTTPS"',
        "an unknown probe scheme",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                livenessProbe={"exec": {"command": ["true"]}, "successThreshold": 2}
            )
        },
        f"{C0}.livenessProbe.successThreshold: Invalid value: 2: must be 1",
        "a liveness success threshold above one",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                readinessProbe={"exec": {"command": ["true"]}, "periodSeconds": -1}
            )
        },
        f"{C0}.readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        "a negative probe period",
    ),
    (
        "Pod",
        {"spec.containers": container(readinessProbe={"exec": {}})},
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
    # ---- sidecars ----
    (
        "Pod",
        {"spec.containers": container(restartPolicy="Always")},
        f"{C0}.restartPolicy: Forbidden: may not be set for non-init containers",
        "a restart policy on an app container",
    ),
    (
        "Pod",
        {"spec.initContainers": [{"name": "side", "image": "b", "restartPolicy": "OnFailure"}]},
        'spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: '
        '"Always"',
        "an init container restarting on failure",
    ),
    # ---- lifecycle hooks ----
    (
        "Pod",
        {"spec.containers": container(lifecycle={"postStart": {}})},
        f"{C0}.lifecycle.postStart: Required value: must specify a handler type",
        "a hook without a handler",
    ),
    (
        "Pod",
        {
            "spec.containers": container(
                lifecycle={"preStop": {"exec": {"command": ["true"]}, "sleep": {"seconds": 1}}}
            )
        },
        f"{C0}.lifecycle.preStop.sleep: Forbidden: may not specify more than 1 handler type",
        "a hook with two handlers",
    ),
    (
        "Pod",
        {"spec.containers": container(lifecycle={"preStop": {"httpGet": {"port": 0}}})},
        f"{C0}.lifecycle.preStop.httpGet.port: Invalid value: 0: {PORT_RANGE}",
        "a hook on port 0",
    ),
    (
        "Pod",
        {
            "spec.terminationGracePeriodSeconds": 10,
            "spec.containers": container(lifecycle={"preStop": {"sleep": {"seconds": 20}}}),
        },
        f"{C0}.lifecycle.preStop.sleep.seconds: Invalid value: 20: must be greater than 0 and "
        "less than terminationGracePeriodSeconds (10)",
        "a hook that sleeps past the grace period",
    ),
    (
        "Pod",
        {"spec.containers": container(lifecycle={"preStop": {"sleep": {"seconds": 0}}})},
        f"{C0}.lifecycle.preStop.sleep.seconds: Invalid value: 0: must be greater than 0",
        "a hook that sleeps no time",
    ),
    (
        "Pod",
        {
            "spec.initContainers": [
                {"name": "init", "image": "b", "lifecycle": {"postStart": {"exec": {}}}}
            ]
        },
        "spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers",
        "a hook on an init container",
    ),
    # ---- scheduling ----
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
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(CASES))
def test_an_invalid_pod_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


UPDATES: list[UpdateCase] = [
    (
        "Pod",
        {"spec.schedulingGates": [{"name": "example.com/a"}]},
        {"spec.schedulingGates": [{"name": "example.com/a"}, {"name": "example.com/b"}]},
        "spec.schedulingGates: Forbidden: only deletion is allowed, but found new scheduling "
        "gate 'example.com/b'",
        "a scheduling gate added to a pod",
    ),
    (
        "Pod",
        None,
        {"spec.containers": container(ports=[{"containerPort": 80}])},
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
]


@pytest.mark.parametrize(("kind", "old_changes", "new_changes", "expected"), update_params(UPDATES))
def test_a_forbidden_pod_update_gets_an_error_naming_the_field(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any], expected: str
) -> None:
    assert_named(update_errors(kind, old_changes, new_changes), expected)


ALLOWED_UPDATES: list[AllowedUpdate] = [
    ("Pod", None, {"spec.containers": container(image="busybox:1.36")}, "a pod's image"),
    ("Pod", None, {"spec.nodeName": "node-a"}, "binding a pod to a node"),
    ("Pod", None, {"metadata.labels": {"app": "web", "extra": "yes"}}, "a pod's labels"),
    (
        "Pod",
        None,
        {"spec.tolerations": [{"key": "a", "operator": "Exists"}]},
        "an added toleration",
    ),
    ("Pod", None, {"spec.activeDeadlineSeconds": 30}, "a pod deadline set for the first time"),
    (
        "Pod",
        {"spec.schedulingGates": [{"name": "example.com/a"}, {"name": "example.com/b"}]},
        {"spec.schedulingGates": [{"name": "example.com/b"}]},
        "a scheduling gate removed",
    ),
]


def test_a_sidecar_may_have_probes_and_hooks_that_an_init_container_may_not() -> None:
    sidecar = {
        "name": "side",
        "image": "b",
        "restartPolicy": "Always",
        "readinessProbe": {"exec": {"command": ["true"]}},
        "startupProbe": {"exec": {"command": ["true"]}},
        "lifecycle": {"preStop": {"sleep": {"seconds": 1}}},
    }
    assert errors_of("Pod", {"spec.initContainers": [sidecar]}) == []


@pytest.mark.parametrize(("kind", "old_changes", "new_changes"), allowed_params(ALLOWED_UPDATES))
def test_an_allowed_pod_update_has_no_errors(
    kind: str, old_changes: dict[str, Any] | None, new_changes: dict[str, Any]
) -> None:
    assert update_errors(kind, old_changes, new_changes) == []


GATE_CASES: list[Case] = [
    (
        "Pod",
        {"spec.readinessGates": [{"conditionType": "www.example.com/feature 1"}]},
        'spec.readinessGates[0].conditionType: Invalid value: "www.example.com/feature 1": '
        "name part must consist of alphanumeric characters",
        "a readiness gate's condition type that is no qualified name",
    ),
    (
        "Pod",
        {"spec.readinessGates": [{"conditionType": ""}]},
        'spec.readinessGates[0].conditionType: Invalid value: "": name part must be non-empty',
        "a readiness gate without a condition type",
    ),
    (
        "Deployment",
        {"spec.template.spec.readinessGates": [{"conditionType": "-bad"}]},
        'spec.template.spec.readinessGates[0].conditionType: Invalid value: "-bad"',
        "a template's readiness gate",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "expected"), invalid_params(GATE_CASES))
def test_an_invalid_readiness_gate_gets_an_error_naming_the_field(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    assert_named(errors_of(kind, changes), expected)


def test_readiness_gates_are_valid_and_fixed_once_the_pod_exists() -> None:
    gates = {"spec.readinessGates": [{"conditionType": "www.example.com/feature-1"}]}
    assert errors_of("Pod", gates) == []
    changed = {"spec.readinessGates": [{"conditionType": "www.example.com/feature-2"}]}
    assert_named(update_errors("Pod", gates, changed), "spec: Forbidden: pod updates may not")

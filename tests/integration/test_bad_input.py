"""Bad manifests and requests against a real API server: each is refused with an error that
names the field at fault, and nothing is written.

Two tables: objects the API server must refuse (validation, on create and on update), and
manifests that never get that far because they do not fit the API's shape (unknown fields,
wrong types), which the manifest reader refuses naming the file, the document and the field.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from client import customkinds, errors
from client.api import ApiClient
from client.kinds import Object, of
from client.manifests import ManifestError, parse_manifests


def _manifest(text: str) -> Object:
    (manifest,) = parse_manifests(textwrap.dedent(text), "test.yaml")
    return manifest.obj


def _pod(spec: str, *, name: str = "web", labels: str = "app: web") -> str:
    return f"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {name}
          labels: {{{labels}}}
        spec:
{textwrap.indent(textwrap.dedent(spec).strip(), " " * 10)}
        """


def _container(extra: str = "") -> str:
    lines = "containers:\n- name: web\n  image: busybox:1.35\n"
    if extra:
        lines += textwrap.indent(textwrap.dedent(extra).strip(), "  ") + "\n"
    return lines


def _deployment(spec: str, kind: str = "Deployment", api_version: str = "apps/v1") -> str:
    return f"""
        apiVersion: {api_version}
        kind: {kind}
        metadata:
          name: web
        spec:
{textwrap.indent(textwrap.dedent(spec).strip(), " " * 10)}
        """


TEMPLATE = """
template:
  metadata:
    labels: {app: web}
  spec:
    containers:
    - name: web
      image: busybox:1.35
"""
SELECTOR = "selector:\n  matchLabels: {app: web}\n"


def _service(spec: str) -> str:
    return f"""
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          selector: {{app: web}}
{textwrap.indent(textwrap.dedent(spec).strip(), " " * 10)}
        """


def _stateful_set(spec: str, claim: str = "") -> str:
    body = "serviceName: nginx\n" + SELECTOR + TEMPLATE + textwrap.dedent(spec).strip() + "\n"
    if claim:
        body += "volumeClaimTemplates:\n" + textwrap.indent(textwrap.dedent(claim).strip(), "- ")
    return _deployment(body, kind="StatefulSet")


def _cron_job(spec: str, *, name: str = "nightly", template: str = "") -> str:
    pod = template or "restartPolicy: Never\n" + _container()
    body = textwrap.dedent(spec).strip() + "\n"
    job = "jobTemplate:\n  spec:\n    template:\n      spec:\n" + textwrap.indent(pod, " " * 8)
    body += job
    return f"""
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: {name}
        spec:
{textwrap.indent(body, " " * 10)}
        """


BAD_CREATES = [
    pytest.param(
        _pod(_container(), name="Web_1"),
        'metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain',
        id="a pod name with uppercase and underscore",
    ),
    pytest.param(
        _pod(_container(), labels="'-app': web"),
        'metadata.labels: Invalid value: "-app": name part must consist of',
        id="a label key starting with a dash",
    ),
    pytest.param(
        _pod(_container(), labels="app: 'web server'"),
        'metadata.labels[app]: Invalid value: "web server": a valid label must be',
        id="a label value with a space",
    ),
    pytest.param(
        _pod("containers: []"),
        "spec.containers: Required value",
        id="a pod without containers",
    ),
    pytest.param(
        _pod("containers:\n- name: web"),
        "spec.containers[0].image: Required value",
        id="a container without an image",
    ),
    pytest.param(
        _pod(_container("ports:\n- containerPort: 0")),
        "spec.containers[0].ports[0].containerPort: Invalid value: 0: must be between 1 and "
        "65535, inclusive",
        id="container port 0 is out of range",
    ),
    pytest.param(
        _pod(_container("resources:\n  requests: {cpu: lots}")),
        'spec.containers[0].resources.requests[cpu]: Invalid value: "lots": quantities must '
        "match the regular expression",
        id="a cpu request that is not a quantity",
    ),
    pytest.param(
        _pod(_container("resources:\n  requests: {memory: 2Gi}\n  limits: {memory: 1Gi}")),
        'spec.containers[0].resources.requests[memory]: Invalid value: "2Gi": must be less '
        "than or equal to memory limit of 1Gi",
        id="a memory request above its limit",
    ),
    pytest.param(
        _pod(_container() + "- name: web\n  image: busybox:1.35\n"),
        'spec.containers[1].name: Duplicate value: "web"',
        id="two containers with one name",
    ),
    pytest.param(
        _pod(_container("volumeMounts:\n- name: data\n  mountPath: /data")),
        'spec.containers[0].volumeMounts[0].name: Not found: "data"',
        id="a mount of a volume the pod does not define",
    ),
    pytest.param(
        _pod(_container() + "restartPolicy: Sometimes"),
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
        '"OnFailure", "Never"',
        id="an unknown restart policy",
    ),
    pytest.param(
        _pod(_container("env:\n- name: 1ST\n  value: x")),
        'spec.containers[0].env[0].name: Invalid value: "1ST": a valid environment variable',
        id="an environment variable name starting with a digit",
    ),
    pytest.param(
        _pod(_container("livenessProbe:\n  exec: {command: ['true']}\n  httpGet: {port: 80}")),
        "spec.containers[0].livenessProbe.httpGet: Forbidden: may not specify more than 1 "
        "handler type",
        id="a probe with two handlers",
    ),
    pytest.param(
        _pod(_container() + "tolerations:\n- key: dedicated\n  operator: Maybe"),
        'spec.tolerations[0].operator: Unsupported value: "Maybe"',
        id="an unknown toleration operator",
    ),
    pytest.param(
        _deployment("selector:\n  matchLabels: {app: db}\n" + TEMPLATE),
        'spec.template.metadata.labels: Invalid value: {"app": "web"}: `selector` does not '
        "match template `labels`",
        id="a deployment whose selector misses its template",
    ),
    pytest.param(
        _deployment(TEMPLATE),
        "spec.selector: Required value",
        id="a deployment without a selector",
    ),
    pytest.param(
        _deployment("replicas: -1\n" + SELECTOR + TEMPLATE),
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        id="negative replicas",
    ),
    pytest.param(
        _deployment("strategy:\n  rollingUpdate: {maxSurge: ten}\n" + SELECTOR + TEMPLATE),
        'spec.strategy.rollingUpdate.maxSurge: Invalid value: "ten": a valid percent string',
        id="a surge that is neither a count nor a percentage",
    ),
    pytest.param(
        _deployment(SELECTOR + TEMPLATE + "    restartPolicy: Never", kind="ReplicaSet"),
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
        id="a replicaset whose pods never restart",
    ),
    pytest.param(
        _deployment("updateStrategy: {type: AllAtOnce}\n" + SELECTOR + TEMPLATE, "DaemonSet"),
        'spec.updateStrategy.type: Unsupported value: "AllAtOnce"',
        id="an unknown daemonset update strategy",
    ),
    pytest.param(
        _deployment(TEMPLATE + "    restartPolicy: Always", "Job", "batch/v1"),
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
        '"OnFailure", "Never"',
        id="a job whose pods always restart",
    ),
    pytest.param(
        _service("ports:\n- port: 70000"),
        "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        id="a service port out of range",
    ),
    pytest.param(
        _service("ports:\n- port: 80\n  targetPort: web_port"),
        'spec.ports[0].targetPort: Invalid value: "web_port": must contain only alpha-numeric',
        id="a target port name with an underscore",
    ),
    pytest.param(
        _service("type: NodePort\nports:\n- port: 80\n  nodePort: 8080"),
        "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range",
        id="a node port outside 30000-32767",
    ),
    pytest.param(
        _service("type: Internal\nports:\n- port: 80"),
        'spec.type: Unsupported value: "Internal"',
        id="an unknown service type",
    ),
    pytest.param(
        _service("ports: []"),
        "spec.ports: Required value",
        id="a service without ports",
    ),
    pytest.param(
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {"app/conf": "x"}
        """,
        'data[app/conf]: Invalid value: "app/conf": a valid config key must consist of',
        id="a config key with a slash",
    ),
    pytest.param(
        """
        apiVersion: v1
        kind: Namespace
        metadata: {name: team.a}
        """,
        'metadata.name: Invalid value: "team.a": a lowercase RFC 1123 label',
        id="a namespace name with a dot",
    ),
    pytest.param(
        """
        apiVersion: v1
        kind: Node
        metadata: {name: node-1}
        spec:
          taints: [{key: dedicated, effect: NoRun}]
        """,
        'spec.taints[0].effect: Unsupported value: "NoRun"',
        id="an unknown taint effect",
    ),
    pytest.param(
        """
        apiVersion: scheduling.k8s.io/v1
        kind: PriorityClass
        metadata: {name: urgent}
        value: 2000000000
        """,
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
        id="a user priority above one billion",
    ),
    pytest.param(
        """
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata: {name: holder}
        spec: {leaseDurationSeconds: 0}
        """,
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
        id="a lease that lasts no time",
    ),
    pytest.param(
        _stateful_set("podManagementPolicy: Eventually"),
        'spec.podManagementPolicy: Invalid value: "Eventually": must be \'OrderedReady\' or '
        "'Parallel'",
        id="an unknown pod management policy",
    ),
    pytest.param(
        _stateful_set("updateStrategy: {type: Sometimes}"),
        'spec.updateStrategy: Invalid value: "Sometimes": must be \'RollingUpdate\' or '
        "'OnDelete'",
        id="an unknown stateful set update strategy",
    ),
    pytest.param(
        _stateful_set("updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: -1}}"),
        "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than "
        "or equal to 0",
        id="a negative partition",
    ),
    pytest.param(
        _stateful_set("replicas: 1", claim="metadata: {name: www}\nspec: {accessModes: []}"),
        "spec.volumeClaimTemplates[0].spec.accessModes: Required value: at least 1 access mode "
        "is required",
        id="a claim template without access modes",
    ),
    pytest.param(
        _stateful_set(
            "replicas: 1",
            claim="metadata: {name: www}\nspec: {accessModes: [ReadWriteOnce]}",
        ),
        "spec.volumeClaimTemplates[0].spec.resources[storage]: Required value",
        id="a claim template without a size",
    ),
    pytest.param(
        _stateful_set("persistentVolumeClaimRetentionPolicy: {whenDeleted: Shred}"),
        'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Shred"',
        id="an unknown claim retention policy",
    ),
    pytest.param(
        _cron_job("schedule: '61 * * * *'"),
        'spec.schedule: Invalid value: "61 * * * *": minute: 61 is out of range 0-59',
        id="a cron job at minute 61",
    ),
    pytest.param(
        _cron_job("schedule: '* * * *'"),
        'spec.schedule: Invalid value: "* * * *": expected 5 fields',
        id="a cron schedule with four fields",
    ),
    pytest.param(
        _cron_job("concurrencyPolicy: Allow"),
        "spec.schedule: Required value",
        id="a cron job without a schedule",
    ),
    pytest.param(
        _cron_job("schedule: 'TZ=UTC 0 * * * *'"),
        "a time zone cannot be given in the schedule: use spec.timeZone",
        id="a time zone inside the cron schedule",
    ),
    pytest.param(
        _cron_job("schedule: '@hourly'\ntimeZone: Mars/Olympus"),
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone',
        id="a cron job in an unknown time zone",
    ),
    pytest.param(
        _cron_job("schedule: '@hourly'\nconcurrencyPolicy: Sometimes"),
        'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", '
        '"Forbid", "Replace"',
        id="an unknown concurrency policy",
    ),
    pytest.param(
        _cron_job("schedule: '@hourly'\nstartingDeadlineSeconds: -5"),
        "spec.startingDeadlineSeconds: Invalid value: -5: must be greater than or equal to 0",
        id="a negative starting deadline",
    ),
    pytest.param(
        _cron_job("schedule: '@hourly'\nfailedJobsHistoryLimit: -1"),
        "spec.failedJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
        id="a negative history limit",
    ),
    pytest.param(
        _cron_job("schedule: '@hourly'", template="restartPolicy: Always\n" + _container()),
        'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always"',
        id="a cron job whose pods would restart in place",
    ),
    pytest.param(
        _cron_job("schedule: '@hourly'", template="restartPolicy: Never\ncontainers:\n- name: a\n"),
        "spec.jobTemplate.spec.template.spec.containers[0].image: Required value",
        id="a cron job's container without an image",
    ),
    pytest.param(
        _cron_job("schedule: '@hourly'", name="n" * 53),
        'metadata.name: Invalid value: "' + "n" * 53 + '": must be no more than 52 characters',
        id="a cron job name too long for its jobs' names",
    ),
]


def _ingress(spec: str) -> str:
    return f"""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
        spec:
{textwrap.indent(textwrap.dedent(spec).strip(), " " * 10)}
        """


_WEB_BACKEND = "backend: {service: {name: web, port: {number: 80}}}"


def _ingress_path(path: str) -> str:
    return _ingress(f"rules:\n- host: web.test\n  http:\n    paths:\n    - {path}")


BAD_INGRESSES = [
    pytest.param(
        _ingress_path("{path: /, " + _WEB_BACKEND + "}"),
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
        id="an ingress path without a pathType",
    ),
    pytest.param(
        _ingress_path("{path: api, pathType: Prefix, " + _WEB_BACKEND + "}"),
        'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path',
        id="an ingress path that is not absolute",
    ),
    pytest.param(
        _ingress_path("{path: /a//b, pathType: Exact, " + _WEB_BACKEND + "}"),
        "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'",
        id="an exact ingress path with an empty element",
    ),
    pytest.param(
        _ingress_path("{path: /, pathType: Regex, " + _WEB_BACKEND + "}"),
        'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: '
        '"Exact", "ImplementationSpecific", "Prefix"',
        id="an unknown ingress pathType",
    ),
    pytest.param(
        _ingress("rules:\n- host: 10.0.0.1\n  http: {paths: [{path: /, pathType: Prefix, "
                 + _WEB_BACKEND + "}]}"),
        'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
        id="an ingress host that is an IP address",
    ),
    pytest.param(
        _ingress("rules:\n- host: 'foo.*.example.com'\n  http: {paths: [{path: /, "
                 "pathType: Prefix, " + _WEB_BACKEND + "}]}"),
        'spec.rules[0].host: Invalid value: "foo.*.example.com": a wildcard DNS-1123 subdomain '
        "must start with '*.'",
        id="an ingress wildcard that is not the first label",
    ),
    pytest.param(
        _ingress_path("{path: /, pathType: Prefix, backend: {service: {name: web}}}"),
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
        id="an ingress backend without a port",
    ),
    pytest.param(
        _ingress_path("{path: /, pathType: Prefix, backend: {}}"),
        'spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend '
        "is required",
        id="an ingress backend with neither service nor resource",
    ),
    pytest.param(
        _ingress("tls:\n- {hosts: [web.test], secretName: Web_TLS}\ndefaultBackend: {service: "
                 "{name: web, port: {number: 80}}}"),
        'spec.tls[0].secretName: Invalid value: "Web_TLS": a lowercase RFC 1123 subdomain',
        id="an ingress TLS secret name that is no Secret name",
    ),
    pytest.param(
        _ingress("ingressClassName: tugboat"),
        "spec: Invalid value: null: either `defaultBackend` or `rules` must be specified",
        id="an ingress with neither rules nor a default backend",
    ),
    pytest.param(
        """
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: {name: mine}
        spec: {controller: tugboat}
        """,
        'spec.controller: Invalid value: "tugboat": must be a domain-prefixed path '
        '(such as "acme.io/foo")',
        id="an ingress class controller without a domain",
    ),
]
BAD_CREATES += BAD_INGRESSES


def _claim(spec: str) -> str:
    return (
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: default}\n"
        "spec:\n" + textwrap.indent(spec, "  ")
    )


def _volume(spec: str) -> str:
    return "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv1}\nspec:\n" + (
        textwrap.indent(spec, "  ")
    )


_STORAGE = "resources: {requests: {storage: 1Gi}}\n"
_CAPACITY = "capacity: {storage: 1Gi}\naccessModes: [ReadWriteOnce]\n"

BAD_STORAGE = [
    pytest.param(
        _claim(_STORAGE),
        "spec.accessModes: Required value: at least 1 access mode is required",
        id="a claim without access modes",
    ),
    pytest.param(
        _claim("accessModes: [ReadWriteSometimes]\n" + _STORAGE),
        'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: '
        '"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
        id="a claim with an unknown access mode",
    ),
    pytest.param(
        _claim("accessModes: [ReadWriteOnce]\n"),
        "spec.resources[storage]: Required value",
        id="a claim without a storage request",
    ),
    pytest.param(
        _claim("accessModes: [ReadWriteOnce]\nresources: {requests: {storage: lots}}\n"),
        'spec.resources[storage]: Invalid value: "lots": quantities must match the regular '
        "expression",
        id="a claim whose storage request is not a quantity",
    ),
    pytest.param(
        _volume(_CAPACITY),
        "spec: Required value: must specify a volume type",
        id="a volume without a source",
    ),
    pytest.param(
        _volume(_CAPACITY + "hostPath: {path: /a}\nlocal: {path: /b}\n"),
        "spec.local: Forbidden: may not specify more than 1 volume type",
        id="a volume with two sources",
    ),
    pytest.param(
        _volume(_CAPACITY + "local: {path: /mnt/disk}\n"),
        "spec.nodeAffinity: Required value: Local volume requires node affinity",
        id="a local volume without node affinity",
    ),
    pytest.param(
        _volume("capacity: {storage: '0'}\naccessModes: [ReadWriteOnce]\nhostPath: {path: /a}\n"),
        'spec.capacity[storage]: Invalid value: "0": must be greater than zero',
        id="a volume of no capacity",
    ),
    pytest.param(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\n"
        "volumeBindingMode: Sometimes\n",
        "provisioner: Required value",
        id="a storage class without a provisioner",
    ),
    pytest.param(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\n"
        "provisioner: tugboat.io/local-path\nvolumeBindingMode: Sometimes\n",
        'volumeBindingMode: Unsupported value: "Sometimes": supported values: "Immediate", '
        '"WaitForFirstConsumer"',
        id="a storage class with an unknown binding mode",
    ),
]
BAD_CREATES += BAD_STORAGE


def _hpa(spec: str) -> str:
    return (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
        "metadata: {name: web, namespace: default}\nspec:\n"
        "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
        + "".join(f"  {line}\n" for line in spec.strip().splitlines())
    )


def _hpa_cpu(target: str) -> str:
    return _hpa(
        "maxReplicas: 3\nmetrics:\n"
        f"- {{type: Resource, resource: {{name: cpu, target: {target}}}}}"
    )


BAD_HPAS = [
    pytest.param(
        _hpa("minReplicas: 0\nmaxReplicas: 3"),
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        id="an HPA with minReplicas 0",
    ),
    pytest.param(
        _hpa("minReplicas: 4\nmaxReplicas: 2"),
        "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
        id="an HPA whose maxReplicas is below minReplicas",
    ),
    pytest.param(
        _hpa("maxReplicas: 0"),
        "spec.maxReplicas: Invalid value: 0: must be greater than 0",
        id="an HPA without maxReplicas",
    ),
    pytest.param(
        _hpa_cpu("{type: Utilization, averageUtilization: 0}"),
        "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater "
        "than 0",
        id="an HPA target of 0 %",
    ),
    pytest.param(
        _hpa_cpu("{type: Utilization, averageUtilization: 50, averageValue: 100m}"),
        "spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target "
        "raw value and a target utilization",
        id="an HPA target with both a utilization and a value",
    ),
    pytest.param(
        _hpa("maxReplicas: 3\nmetrics:\n- {type: Resource, resource: {name: gpu, target: "
             "{type: AverageValue, averageValue: '1'}}}"),
        'spec.metrics[0].resource.name: Unsupported value: "gpu": supported values: "cpu", '
        '"memory"',
        id="an HPA metric on a resource the metrics API does not serve",
    ),
    pytest.param(
        _hpa("maxReplicas: 3\nbehavior:\n  scaleDown:\n    stabilizationWindowSeconds: 4000\n"
             "    policies: [{type: Pods, value: 0, periodSeconds: 15}]"),
        "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 4000: must be less "
        "than or equal to 3600",
        id="an HPA scale-down window over an hour",
    ),
    pytest.param(
        _hpa("maxReplicas: 3\nbehavior:\n  scaleUp:\n    selectPolicy: Fastest"),
        'spec.behavior.scaleUp.selectPolicy: Unsupported value: "Fastest": supported values: '
        '"Disabled", "Max", "Min"',
        id="an HPA with an unknown select policy",
    ),
]
BAD_CREATES += BAD_HPAS


_OBJECT_SCHEMA = "schema: {openAPIV3Schema: {type: object}}"


def _crd(
    versions: str = "", *, name: str = "websites.examples.tugboat.io", plural: str = "websites"
) -> str:
    versions = versions or f"- {{name: v1, served: true, storage: true, {_OBJECT_SCHEMA}}}"
    return f"""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {{name: {name}}}
        spec:
          group: examples.tugboat.io
          scope: Namespaced
          names: {{plural: {plural}, kind: Website}}
          versions:
{textwrap.indent(textwrap.dedent(versions).strip(), " " * 10)}
        """


BAD_CRDS = [
    pytest.param(
        _crd(name="websites.example.com"),
        'metadata.name: Invalid value: "websites.example.com": must be '
        'spec.names.plural+"."+spec.group',
        id="a CRD whose name is not plural.group",
    ),
    pytest.param(
        _crd(f"- {{name: v1, served: true, storage: true, {_OBJECT_SCHEMA}}}\n"
             f"- {{name: v2, served: true, storage: true, {_OBJECT_SCHEMA}}}"),
        "spec.versions: Invalid value: [\"v1\", \"v2\"]: must have exactly one version marked as "
        "storage version",
        id="a CRD with two storage versions",
    ),
    pytest.param(
        _crd("- {name: v1, served: true, storage: true}"),
        "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required",
        id="a CRD version without a schema",
    ),
    pytest.param(
        _crd("- {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, "
             "properties: {spec: {properties: {size: {type: integer}}}}}}}"),
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not "
        "be empty for specified object fields",
        id="a CRD schema that is not structural",
    ),
    pytest.param(
        _crd("- {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}, "
             "additionalPrinterColumns: [{name: Size, type: integer, jsonPath: 'spec.size'}]}"),
        'spec.versions[0].additionalPrinterColumns[0].jsonPath: Invalid value: "spec.size": must '
        "be a simple json path starting with a dot",
        id="a CRD printer column with a path that is not a JSONPath",
    ),
    pytest.param(
        _crd(name="pods.examples.tugboat.io", plural="pods"),
        'spec.names.plural: Invalid value: "pods": is already served by "v1"',
        id="a CRD whose plural a built-in kind has",
    ),
]
BAD_CREATES += BAD_CRDS


async def _snapshot(api: ApiClient, obj: Object) -> list[tuple[str, str, str]]:
    """Every stored object of the kind: namespace, name and resourceVersion."""
    listed = await api.list(of(obj).resource)
    return [
        (o.metadata.namespace, o.metadata.name, o.metadata.resource_version) for o in listed.items
    ]


@pytest.mark.parametrize(("manifest", "expected"), BAD_CREATES)
async def test_a_bad_object_is_refused_naming_the_field_and_nothing_is_written(
    apiserver: Any, manifest: str, expected: str
) -> None:
    obj = _manifest(manifest)
    async with ApiClient([apiserver.endpoint]) as api:
        before = await _snapshot(api, obj)
        with pytest.raises(errors.Invalid) as info:
            await api.create(obj)
        after = await _snapshot(api, obj)
    assert expected in info.value.message
    assert after == before


EXAMPLE_CRD = Path(__file__).resolve().parents[2] / "examples" / "operator" / "crd.yaml"


def _website(spec: str) -> str:
    return f"""
        apiVersion: examples.tugboat.io/v1
        kind: Website
        metadata: {{name: hello, namespace: default}}
        spec: {spec}
        """


BAD_CUSTOM_OBJECTS = [
    pytest.param(
        _website("{image: nginx, replicas: three}"),
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
        'integer: "string"',
        id="a custom object with a string where its schema says integer",
    ),
    pytest.param(
        _website("{image: nginx, replicas: 50}"),
        "spec.replicas: Invalid value: 50: spec.replicas in body should be less than or equal "
        "to 20",
        id="a custom object over its schema's maximum",
    ),
    pytest.param(
        _website("{replicas: 2}"),
        "spec.image: Required value",
        id="a custom object without a field its schema requires",
    ),
    pytest.param(
        _website("{image: nginx, tier: middle}"),
        'spec.tier: Unsupported value: "middle": supported values: "frontend", "backend"',
        id="a custom object with a value outside its schema's enum",
    ),
    pytest.param(
        _website("{image: ''}"),
        'spec.image: Invalid value: "": spec.image in body should be at least 1 chars long',
        id="a custom object under its schema's minLength",
    ),
]


@pytest.mark.parametrize(("manifest", "expected"), BAD_CUSTOM_OBJECTS)
async def test_a_bad_custom_object_is_refused_naming_the_field_and_nothing_is_written(
    apiserver: Any, manifest: str, expected: str
) -> None:
    (crd,) = parse_manifests(EXAMPLE_CRD.read_text(), str(EXAMPLE_CRD))
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(crd.obj)
        await customkinds.load(api)
        obj = _manifest(manifest)
        with pytest.raises(errors.Invalid) as info:
            await api.create(obj)
        after = await api.list("websites")
    assert expected in info.value.message
    assert info.value.message.startswith('Website.examples.tugboat.io "hello" is invalid: ')
    assert after.items == []


VALID_DEPLOYMENT = _deployment("replicas: 2\n" + SELECTOR + TEMPLATE)
VALID_POD = _pod(_container("ports:\n- containerPort: 80") + "nodeName: node-a")
VALID_SERVICE = _service("clusterIP: 172.30.255.20\nports:\n- port: 80")
VALID_PRIORITY_CLASS = """
    apiVersion: scheduling.k8s.io/v1
    kind: PriorityClass
    metadata: {name: high}
    value: 1000
    """


def _set_selector(d: Any) -> None:
    d.spec.selector.match_labels["tier"] = "front"
    d.spec.template.metadata.labels["tier"] = "front"


def _set_port(p: Any) -> None:
    p.spec.containers[0].ports[0].container_port = 81


def _set_node(p: Any) -> None:
    p.spec.node_name = "node-b"


def _set_replicas(d: Any) -> None:
    d.spec.replicas = -3


def _set_cluster_ip(s: Any) -> None:
    s.spec.cluster_ip = "172.30.255.21"


def _set_service_name(sts: Any) -> None:
    sts.spec.service_name = "other"


def _set_value(pc: Any) -> None:
    pc.value = 5


BAD_UPDATES = [
    pytest.param(
        _stateful_set("replicas: 1"),
        _set_service_name,
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
        "'ordinals', 'template', 'updateStrategy'",
        id="a stateful set's governing service changed",
    ),
    pytest.param(
        VALID_DEPLOYMENT,
        _set_selector,
        "spec.selector: Invalid value",
        id="a deployment's selector changed",
    ),
    pytest.param(
        VALID_DEPLOYMENT,
        _set_replicas,
        "spec.replicas: Invalid value: -3: must be greater than or equal to 0",
        id="a deployment scaled below zero",
    ),
    pytest.param(
        VALID_POD,
        _set_port,
        "spec: Forbidden: pod updates may not change fields other than",
        id="a running pod's ports changed",
    ),
    pytest.param(
        VALID_POD,
        _set_node,
        'spec.nodeName: Invalid value: "node-b": field is immutable',
        id="a bound pod moved to another node",
    ),
    pytest.param(
        VALID_SERVICE,
        _set_cluster_ip,
        'spec.clusterIP: Invalid value: "172.30.255.21": field is immutable',
        id="a service's cluster IP changed",
    ),
    pytest.param(
        VALID_PRIORITY_CLASS,
        _set_value,
        "value: Forbidden: may not be changed in an update",
        id="a priority class's value changed",
    ),
]


@pytest.mark.parametrize(("manifest", "change", "expected"), BAD_UPDATES)
async def test_a_bad_update_is_refused_naming_the_field_and_changes_nothing(
    apiserver: Any, manifest: str, change: Any, expected: str
) -> None:
    async with ApiClient([apiserver.endpoint]) as api:
        created = await api.create(_manifest(manifest))
        changed: Any = type(created)()
        changed.CopyFrom(created)
        change(changed)
        with pytest.raises(errors.Invalid) as info:
            await api.update(changed)
        meta = created.metadata
        stored = await api.get(of(created).resource, meta.namespace, meta.name)
    assert expected in info.value.message
    assert stored.metadata.resource_version == meta.resource_version
    assert stored == created


# ---- manifests that do not fit the API's shape never reach the server ----

BAD_MANIFESTS = [
    pytest.param(
        _pod("containers:\n- name: web\n  imagee: busybox"),
        "test.yaml (document 1): spec.containers[0].imagee: unknown field",
        id="a misspelt field",
    ),
    pytest.param(
        _pod(_container("ports:\n- containerPort: eighty")),
        "test.yaml (document 1): spec.containers[0].ports[0].containerPort: expected an "
        "integer, got string 'eighty'",
        id="a port that is a word",
    ),
    pytest.param(
        _deployment("replicas: '3'\n" + SELECTOR + TEMPLATE),
        "test.yaml (document 1): spec.replicas: expected an integer, got string '3'",
        id="replicas quoted as a string",
    ),
    pytest.param(
        _pod("containers: {name: web}"),
        "test.yaml (document 1): spec.containers: expected an array, got object",
        id="containers given as an object",
    ),
    pytest.param(
        _pod(_container(), labels="app: [web]").replace("labels: {app: [web]}", "labels: [web]"),
        "test.yaml (document 1): metadata.labels: expected an object, got array",
        id="labels given as a list",
    ),
    pytest.param(
        _service("ports:\n- port: 80\n  targetPort: true"),
        "test.yaml (document 1): spec.ports[0].targetPort: expected an integer or a string, "
        "got boolean",
        id="a target port that is a boolean",
    ),
    pytest.param(
        _pod(_container("ports:\n- containerPort: 99999999999")),
        "spec.containers[0].ports[0].containerPort: integer 99999999999 is out of range",
        id="a port beyond a 32-bit integer",
    ),
    pytest.param(
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: s}
        data: {password: "not base64!"}
        """,
        "test.yaml (document 1): data[password]: illegal base64 data",
        id="secret data that is not base64",
    ),
    pytest.param(
        """
        apiVersion: v1
        kind: Widget
        metadata: {name: w}
        """,
        'test.yaml (document 1): kind: no matches for kind "Widget" in version "v1"',
        id="an unknown kind",
    ),
    pytest.param(
        _deployment(SELECTOR + TEMPLATE, api_version="v1"),
        'test.yaml (document 1): kind: no matches for kind "Deployment" in version "v1"',
        id="a kind under the wrong apiVersion",
    ),
    pytest.param(
        """
        kind: Pod
        metadata: {name: p}
        """,
        "test.yaml (document 1): apiVersion: required field is missing",
        id="no apiVersion",
    ),
    pytest.param(
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: ok}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: bad, labelz: {a: b}}
        """,
        "test.yaml (document 2): metadata.labelz: unknown field",
        id="the second document of a file",
    ),
]


@pytest.mark.parametrize(("manifest", "expected"), BAD_MANIFESTS)
def test_a_manifest_that_does_not_fit_the_api_names_file_document_and_field(
    manifest: str, expected: str
) -> None:
    with pytest.raises(ManifestError) as info:
        list(parse_manifests(textwrap.dedent(manifest), "test.yaml"))
    assert expected in str(info.value)


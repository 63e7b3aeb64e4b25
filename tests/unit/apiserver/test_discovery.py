"""Prometheus discovery's target groups from registration Leases, Nodes and Pods."""

from __future__ import annotations

import time
from typing import Any

from client.manifests import parse_manifests
from master.apiserver.discovery import (
    DiscoverySettings,
    node_groups,
    pod_groups,
    registration_groups,
)
from master.controllers.controller_utils import rfc3339

OBJECTS = """
apiVersion: v1
kind: Node
metadata: {name: n1}
status:
  addresses: [{type: InternalIP, address: 127.0.0.2}]
  conditions: [{type: Ready, status: Unknown}]
---
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: shop
  annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9100", prometheus.io/path: /m}
spec: {nodeName: n1, containers: [{name: c, image: x}]}
status: {phase: Running, podIP: 172.30.0.9}
---
apiVersion: v1
kind: Pod
metadata:
  name: ports
  namespace: shop
  annotations: {prometheus.io/scrape: "true"}
spec:
  nodeName: n1
  containers: [{name: c, image: x, ports: [{containerPort: 8080}, {containerPort: 8081}]}]
status: {phase: Running, podIP: 172.30.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: quiet, namespace: shop}
spec: {nodeName: n1, containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 172.30.0.11}
---
apiVersion: v1
kind: Pod
metadata:
  name: pending
  namespace: shop
  annotations: {prometheus.io/scrape: "true", prometheus.io/port: "80"}
spec: {containers: [{name: c, image: x}]}
status: {phase: Pending}
"""


def objects(kind: str) -> list[Any]:
    return [m.obj for m in parse_manifests(OBJECTS, "t.yaml") if m.kind.kind == kind]


def lease(name: str, component: str, address: str, renewed: float):
    from proto import workloads_pb2

    out = workloads_pb2.Lease()
    out.metadata.name = name
    out.metadata.labels["tugboat.io/component"] = component
    out.metadata.annotations["tugboat.io/metrics-address"] = address
    out.spec.holder_identity = name
    out.spec.renew_time = rfc3339(renewed)
    return out


def test_every_node_gives_kubelet_cadvisor_and_proxy_targets_even_when_not_ready():
    groups = node_groups(objects("Node"), DiscoverySettings(10255, 10249))
    assert groups == [
        {"targets": ["127.0.0.2:10255"], "labels": {"job": "kubelet", "node": "n1",
         "metrics_path": "/metrics", "__metrics_path__": "/metrics"}},
        {"targets": ["127.0.0.2:10255"], "labels": {"job": "kubelet", "node": "n1",
         "metrics_path": "/metrics/cadvisor", "__metrics_path__": "/metrics/cadvisor"}},
        {"targets": ["127.0.0.2:10249"], "labels": {"job": "kube-proxy", "node": "n1"}},
    ]


def test_annotated_running_pods_are_targets_at_their_port_or_every_container_port():
    groups = pod_groups(objects("Pod"))
    assert [(g["targets"][0], g["labels"]["pod"], g["labels"]["__metrics_path__"])
            for g in groups] == [
        ("172.30.0.9:9100", "app", "/m"),
        ("172.30.0.10:8080", "ports", "/metrics"),
        ("172.30.0.10:8081", "ports", "/metrics"),
    ]
    assert all(g["labels"]["job"] == "kubernetes-pods" for g in groups)


def test_master_components_come_from_live_registrations_and_stale_ones_drop_out():
    now = time.time()
    groups = registration_groups(
        [
            lease("a", "tug-apiserver", "127.0.0.1:6453", now - 2),
            lease("s", "tug-scheduler", "127.0.0.1:6473", now - 2),
            lease("c", "tug-controller-manager", "127.0.0.1:6476", now - 600),
            lease("old", "tug-scheduler", "127.0.0.1:6474", now - 7200),
        ],
        now,
    )
    jobs = [(g["labels"]["job"], g["targets"][0]) for g in groups]
    assert jobs == [
        ("apiserver", "127.0.0.1:6453"),
        ("kube-controller-manager", "127.0.0.1:6476"),
        ("kube-state-metrics", "127.0.0.1:6476"),
        ("kube-scheduler", "127.0.0.1:6473"),
    ], "a crashed component stays a target (seen down) until its registration is an hour old"
    state = next(g for g in groups if g["labels"]["job"] == "kube-state-metrics")
    assert state["labels"]["__metrics_path__"] == "/metrics/state"

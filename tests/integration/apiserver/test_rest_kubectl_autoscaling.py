"""The real kubectl against the autoscaling pieces: `kubectl autoscale` and `get hpa`, the
`/scale` subresource of every scalable kind, and `kubectl top` reading metrics.k8s.io,
served from a stand-in kubelet's stats (tests/support/fakestats.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from client.api import ApiClient
from proto import core_pb2
from tests.integration.apiserver.kubectl import KUBECTL
from tests.support.fakestats import FakeStats

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: busybox:1.35
        resources: {requests: {cpu: 100m}}
"""

STATEFULSET = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 1
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: busybox:1.35}]
"""


@pytest.fixture
async def stats(api: ApiClient) -> AsyncIterator[FakeStats]:
    fake = FakeStats("n1")
    await fake.start()
    try:
        await fake.publish(api)
        yield fake
    finally:
        await fake.stop()


async def test_kubectl_autoscale_creates_an_hpa_that_get_hpa_prints(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=DEPLOYMENT)
    out = await kubectl.ok(
        "autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=50"
    )
    assert out.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"
    hpa = json.loads(await kubectl.ok("get", "hpa", "web", "-o", "json"))
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web"
    }  # fmt: skip
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 5
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"] == {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}
    }  # fmt: skip
    table = (await kubectl.ok("get", "hpa")).splitlines()
    assert table[0].split() == [
        "NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"
    ]  # fmt: skip
    assert table[1].split()[:7] == ["web", "Deployment/web", "cpu:", "<unknown>/50%", "2", "5", "0"]


async def test_a_bad_hpa_is_refused_by_field_in_kubectls_words(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=DEPLOYMENT)
    ran = await kubectl("autoscale", "deployment", "web", "--max=0")
    assert ran.code != 0
    # kubectl checks --max itself before it sends anything.
    assert "--max=MAXPODS is required" in ran.err, ran.err
    bad = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: bad}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 2
"""
    ran = await kubectl("apply", "-f", "-", stdin=bad)
    assert ran.code != 0
    assert 'HorizontalPodAutoscaler "bad" is invalid' in ran.err, ran.err
    assert "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`" in (
        ran.err
    )


async def test_kubectl_scale_resizes_deployments_and_statefulsets_through_scale(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=DEPLOYMENT)
    await kubectl.ok("apply", "-f", "-", stdin=STATEFULSET)
    for target, replicas in (("deployment/web", "4"), ("statefulset/db", "3")):
        out = await kubectl.ok("scale", target, "--replicas", replicas)
        assert out.strip().endswith("scaled"), out
    scale = json.loads(
        await kubectl.ok("get", "--raw", "/apis/apps/v1/namespaces/default/statefulsets/db/scale")
    )
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"]["replicas"] == 3
    assert scale["status"]["selector"] == "app=db"
    live = json.loads(await kubectl.ok("get", "deployment", "web", "-o", "json"))
    assert live["spec"]["replicas"] == 4


async def test_kubectl_top_reads_pod_and_node_metrics_from_the_metrics_api(kubectl, api, stats):
    for name, labels in (("a", {"app": "top"}), ("b", {"app": "other"})):
        pod = core_pb2.Pod(api_version="v1", kind="Pod")
        pod.metadata.name, pod.metadata.namespace = name, "default"
        pod.metadata.labels.update(labels)
        pod.spec.node_name = "n1"
        pod.spec.containers.add(name="main", image="busybox:1.35")
        await api.create(pod)
    stats.usage = {("default", "a"): (250, 64 << 20), ("default", "b"): (10, 8 << 20)}

    groups = json.loads(await kubectl.ok("get", "--raw", "/apis"))
    assert "metrics.k8s.io" in {g["name"] for g in groups["groups"]}
    out = (await kubectl.ok("top", "pods")).splitlines()
    assert out[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert [line.split() for line in out[1:]] == [["a", "250m", "64Mi"], ["b", "10m", "8Mi"]]
    out = (await kubectl.ok("top", "pods", "-l", "app=top")).splitlines()
    assert [line.split() for line in out[1:]] == [["a", "250m", "64Mi"]]
    nodes = (await kubectl.ok("top", "nodes")).splitlines()
    assert nodes[0].split()[:3] == ["NAME", "CPU(cores)", "CPU(%)"]
    assert nodes[1].split()[:3] == ["n1", "260m", "6%"]
    ran = await kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope")
    assert ran.code != 0 and "NotFound" in ran.err, ran.err


V1 = "horizontalpodautoscalers.v1.autoscaling"
"""kubectl's name for the v1 view (`hpa.v1.autoscaling` resolves to the preferred v2)."""
HPA_V1 = """
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: frontend-scaler}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: ReplicaSet, name: frontend}
  minReplicas: 3
  maxReplicas: %d
  targetCPUUtilizationPercentage: 50
"""


async def test_an_autoscaling_v1_manifest_applies_and_reapplies_while_v2_stays_preferred(kubectl):
    versions = (await kubectl.ok("api-versions")).split()
    assert "autoscaling/v1" in versions and "autoscaling/v2" in versions
    out = await kubectl.ok("apply", "-f", "-", stdin=HPA_V1 % 10)
    assert out.strip() == "horizontalpodautoscaler.autoscaling/frontend-scaler created"
    out = await kubectl.ok("apply", "-f", "-", stdin=HPA_V1 % 10)
    assert out.strip() == "horizontalpodautoscaler.autoscaling/frontend-scaler unchanged"
    out = await kubectl.ok("apply", "-f", "-", stdin=HPA_V1 % 12)
    assert out.strip() == "horizontalpodautoscaler.autoscaling/frontend-scaler configured"
    preferred = json.loads(await kubectl.ok("get", "hpa", "frontend-scaler", "-o", "json"))
    assert preferred["apiVersion"] == "autoscaling/v2"
    assert preferred["spec"]["maxReplicas"] == 12
    metric = preferred["spec"]["metrics"][0]["resource"]
    assert metric == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}
    old = json.loads(
        await kubectl.ok(
            "get", "horizontalpodautoscalers.v1.autoscaling", "frontend-scaler", "-o", "json"
        )
    )
    assert old["apiVersion"] == "autoscaling/v1"
    assert old["spec"]["targetCPUUtilizationPercentage"] == 50
    patch = '{"spec": {"targetCPUUtilizationPercentage": 70}}'
    await kubectl.ok("patch", V1, "frontend-scaler", "--type=merge", "-p", patch)
    patched = json.loads(await kubectl.ok("get", "hpa", "frontend-scaler", "-o", "json"))
    assert patched["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70

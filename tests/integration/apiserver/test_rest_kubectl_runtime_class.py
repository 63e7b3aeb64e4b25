"""The real kubectl with RuntimeClasses (node.k8s.io/v1): the docs' class with an overhead
and a scheduling part is applied and listed with kubectl's columns; a pod naming it is
given its overhead, nodeSelector and tolerations by admission, and its namespace's quota
counts the overhead; a pod naming a missing class, or bringing an overhead of its own, is
refused in Kubernetes' words; the handler never changes."""

from __future__ import annotations

import json

import pytest

from tests.integration.apiserver.kubectl import KUBECTL

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

CLASS = """\
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: kata-fc}
handler: kata-fc
overhead:
  podFixed: {memory: 120Mi, cpu: 250m}
scheduling:
  nodeSelector: {runtime: kata}
  tolerations:
  - {key: kata, operator: Exists, effect: NoSchedule}
"""

QUOTA = """\
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute}
spec:
  hard: {requests.cpu: "2", requests.memory: 1Gi}
"""


def pod(name: str, *extra: str) -> str:
    lines = [
        "apiVersion: v1",
        "kind: Pod",
        f"metadata: {{name: {name}}}",
        "spec:",
        *(f"  {line}" for line in extra),
        "  containers:",
        "  - name: app",
        "    image: busybox:1.35",
        "    resources: {requests: {cpu: 100m, memory: 64Mi}}",
    ]
    return "\n".join(lines) + "\n"


async def test_a_pod_of_a_runtime_class_gets_its_overhead_and_scheduling_and_is_counted(kubectl):
    assert (await kubectl.ok("apply", "-f", "-", stdin=CLASS)).strip() == (
        "runtimeclass.node.k8s.io/kata-fc created"
    )
    header, row = (await kubectl.ok("get", "runtimeclass")).splitlines()
    assert header.split() == ["NAME", "HANDLER", "AGE"]
    assert row.split()[:2] == ["kata-fc", "kata-fc"]
    await kubectl.ok("apply", "-f", "-", stdin=QUOTA)

    sandboxed = pod("sandboxed", "runtimeClassName: kata-fc", "nodeSelector: {disk: ssd}")
    await kubectl.ok("apply", "-f", "-", stdin=sandboxed)

    spec = json.loads(await kubectl.ok("get", "pod", "sandboxed", "-o", "json"))["spec"]
    assert spec["overhead"] == {"cpu": "250m", "memory": "120Mi"}
    assert spec["nodeSelector"] == {"disk": "ssd", "runtime": "kata"}
    assert {"key": "kata", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    used = json.loads(await kubectl.ok("get", "quota", "compute", "-o", "json"))["status"]["used"]
    assert used == {"requests.cpu": "350m", "requests.memory": "184Mi"}


async def test_a_pod_naming_a_missing_class_or_its_own_overhead_is_refused(kubectl):
    lost = await kubectl("apply", "-f", "-", stdin=pod("lost", "runtimeClassName: nope"))
    assert lost.code != 0
    assert 'pods "lost" is forbidden: pod rejected: RuntimeClass "nope" not found' in lost.err

    own = await kubectl("apply", "-f", "-", stdin=pod("own", "overhead: {cpu: 10m}"))
    assert own.code != 0
    assert (
        'pods "own" is forbidden: pod rejected: Pod Overhead set without corresponding '
        "RuntimeClass defined Overhead" in own.err
    ), own.err

    await kubectl.ok("apply", "-f", "-", stdin=CLASS)
    clash = pod("clash", "runtimeClassName: kata-fc", "nodeSelector: {runtime: runc}")
    refused = await kubectl("apply", "-f", "-", stdin=clash)
    assert refused.code != 0
    assert (
        "conflict: runtimeClass.scheduling.nodeSelector[runtime] = kata; "
        "pod.spec.nodeSelector[runtime] = runc" in refused.err
    ), refused.err
    assert (await kubectl("get", "pods", "-o", "name")).out.strip() == ""


async def test_a_classs_handler_never_changes(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=CLASS)
    changed = await kubectl(
        "apply", "-f", "-", stdin=CLASS.replace("handler: kata-fc", "handler: runc")
    )
    assert changed.code != 0
    assert 'handler: Invalid value: "runc": field is immutable' in changed.err, changed.err
    other = CLASS.replace("name: kata-fc", "name: other").replace("handler: kata-fc", "handler: X")
    bad = await kubectl("apply", "-f", "-", stdin=other)
    assert bad.code != 0
    assert 'handler: Invalid value: "X": a lowercase RFC 1123 label' in bad.err, bad.err

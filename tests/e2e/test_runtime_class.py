"""RuntimeClasses on the shared cluster's Docker nodes, with the real kubectl: a pod whose
class's handler is `runc` runs, its sandbox and container with Docker's runtime `runc`; a
pod whose class names a handler Docker lacks stays ContainerCreating with a
FailedCreatePodSandBox event saying no runtime is configured for it, as the kubelet says
with containerd; both are deleted cleanly, leaving no container behind."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from tests.e2e.kubectl import kubectl, read
from tests.e2e.tables import row
from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="make setup installs kubectl"),
]

CLASSES = """
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: runc}
handler: runc
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: missing}
handler: no-such-runtime
"""


def pod(name: str, klass: str) -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  runtimeClassName: {klass}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.35
    command: ["sleep", "3600"]
"""


def docker_runtimes(pod_name: str) -> set[str]:
    """Docker's runtime of every container of the pod, sandbox included."""
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.tugboat.pod.name={pod_name}"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    if not listed:
        return set()
    inspected = subprocess.run(
        ["docker", "inspect", "--format", "{{.HostConfig.Runtime}}", *listed],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    return set(inspected)


def sandbox_failure(cluster: Cluster, name: str) -> Any:
    events = read(cluster, "events")["items"]
    return next(
        (
            e
            for e in events
            if e["involvedObject"]["name"] == name and e["reason"] == "FailedCreatePodSandBox"
        ),
        None,
    )


def test_a_runc_class_runs_and_an_unknown_handler_waits_with_the_kubelets_event(
    cluster: Cluster,
):
    kubectl(cluster, "apply", "-f", "-", stdin=CLASSES)
    try:
        classes = kubectl(cluster, "get", "runtimeclass")
        assert row(classes, "missing")["HANDLER"] == "no-such-runtime"
        kubectl(cluster, "apply", "-f", "-", stdin=pod("with-runc", "runc"))
        kubectl(cluster, "apply", "-f", "-", stdin=pod("no-runtime", "missing"))

        wait_until(
            lambda: read(cluster, "pod", "with-runc")["status"].get("phase") == "Running",
            timeout=120,
            interval=1,
            what="with-runc running",
        )
        assert docker_runtimes("with-runc") == {"runc"}

        event = wait_until(
            lambda: sandbox_failure(cluster, "no-runtime"),
            timeout=60,
            interval=1,
            what="the FailedCreatePodSandBox event of no-runtime",
        )
        assert event["type"] == "Warning"
        assert event["message"] == (
            "Failed to create pod sandbox: failed to get sandbox runtime: "
            'no runtime for "no-such-runtime" is configured'
        )
        table = kubectl(cluster, "get", "pod", "no-runtime")
        assert row(table, "no-runtime")["STATUS"] == "ContainerCreating"
        assert docker_runtimes("no-runtime") == set()

        kubectl(cluster, "delete", "pod", "with-runc", "no-runtime", "--timeout=90s")
        left = json.loads(kubectl(cluster, "get", "pods", "-o", "json"))["items"]
        assert [p["metadata"]["name"] for p in left] == []
        wait_until(
            lambda: not docker_runtimes("with-runc"),
            timeout=60,
            interval=1,
            what="with-runc's containers removed",
        )
    finally:
        cluster.tug("delete", "pod", "with-runc", "no-runtime", "--grace-period", "0", "--force")
        kubectl(cluster, "delete", "runtimeclass", "runc", "missing", "--ignore-not-found")

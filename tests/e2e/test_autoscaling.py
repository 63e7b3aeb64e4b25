"""An HPA on a real cluster: busy-loop pods are scaled up on their measured cpu, and back
down once they idle and the (shortened) scale-down window has passed.

Its own small cluster (one master, one node: the machine has two cores, and the busy
pods use them), with Kubernetes' real timings otherwise: the controller looks every 15 s
and the kubelet samples every 10 s, so the test takes about two minutes. Everything goes
through `tug`: apply, autoscale-like HPA manifest, get hpa, top, exec.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.tables import row, rows
from tests.support.cluster import Cluster, running_cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# The loop stops when /tmp/idle exists: the test makes the pods idle without replacing them.
BUSY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: busy}
spec:
  replicas: 1
  selector: {matchLabels: {app: busy}}
  template:
    metadata: {labels: {app: busy}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: loop
        image: busybox:1.35
        command: [sh, -c, "while [ ! -f /tmp/idle ]; do :; done; exec sleep 3600"]
        resources: {requests: {cpu: 100m}}
"""

HPA = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: busy}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: busy}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 5}
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home: Path = tmp_path_factory.mktemp("hpa") / "tug-home"
    with running_cluster(home, name="hpa", masters=1, nodes=1) as c:
        yield c


def busy_pods(cluster: Cluster) -> list[str]:
    table = cluster.tug("get", "pods", "-l", "app=busy").ok()
    return [r["NAME"] for r in rows(table) if r["STATUS"] == "Running"]


def test_an_hpa_scales_busy_pods_up_and_idle_ones_back_down(small: Cluster):
    tug = small.tug
    try:
        tug("apply", "-f", "-", stdin=BUSY).ok()
        tug("rollout", "status", "deployment/busy", "--timeout", "90").ok()
        assert tug("apply", "-f", "-", stdin=HPA).ok() == (
            "horizontalpodautoscaler.autoscaling/busy created\n"
        )

        # One pod spinning uses far more than 50 % of its 100m: the HPA goes to its max.
        def scaled_up() -> bool:
            hpa = row(tug("get", "hpa").ok(), "busy")
            return hpa["REPLICAS"] == "3"

        wait_until(scaled_up, timeout=150, interval=2, what="the HPA to scale busy to 3")
        assert row(tug("get", "deploy").ok(), "busy")["READY"].endswith("/3")
        hpa = row(tug("get", "hpa").ok(), "busy")
        assert hpa["REFERENCE"] == "Deployment/busy"
        assert hpa["TARGETS"].startswith("cpu: ") and hpa["TARGETS"].endswith("/50%")
        assert "SuccessfulRescale" in tug("get", "events").ok()
        top = tug("top", "pods", "-l", "app=busy").ok()
        assert "busy-" in top

        tug("rollout", "status", "deployment/busy", "--timeout", "90").ok()
        for name in busy_pods(small):
            tug("exec", name, "--", "touch", "/tmp/idle").ok()

        def scaled_down() -> bool:
            deploy = row(tug("get", "deploy").ok(), "busy")
            return deploy["READY"].endswith("/1") and deploy["UP-TO-DATE"] == "1"

        wait_until(scaled_down, timeout=150, interval=2, what="the HPA to scale busy back to 1")
        hpa = row(tug("get", "hpa").ok(), "busy")
        assert hpa["MINPODS"] == "1" and hpa["MAXPODS"] == "3"
    finally:
        with contextlib.suppress(Exception):
            tug("delete", "hpa", "busy", "--ignore-not-found")
            tug("delete", "deployment", "busy", "--ignore-not-found", "--grace-period", "0")

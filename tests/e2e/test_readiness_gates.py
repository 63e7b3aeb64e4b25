"""A pod's readiness gate on the shared cluster, driven with the real kubectl: the pod runs
but stays not Ready, a not-ready address of its Service, until a status patch (what a
load balancer's controller sends) sets the gate's condition True; then it is Ready, counts
1/1 in READINESS GATES, and its Service's Endpoints and EndpointSlice list it as ready."""

from __future__ import annotations

import json
import shutil
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

GATE = "www.example.com/feature-1"
MANIFEST = f"""
apiVersion: v1
kind: Service
metadata: {{name: gated}}
spec:
  selector: {{app: gated}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: gated
  labels: {{app: gated}}
spec:
  terminationGracePeriodSeconds: 0
  readinessGates:
  - conditionType: {GATE}
  containers:
  - name: app
    image: busybox:1.35
    command: ["sleep", "3600"]
    ports: [{{containerPort: 8080}}]
"""


def ready(pod: Any) -> dict[str, str]:
    found: dict[str, str] = next(
        (c for c in pod["status"].get("conditions", []) if c["type"] == "Ready"), {}
    )
    return found


def held_unready(cluster: Cluster) -> Any:
    """The pod once it runs and only its gate keeps it from Ready, else None."""
    pod = read(cluster, "pod", "gated")
    running = pod["status"].get("phase") == "Running"
    return pod if running and ready(pod).get("reason") == "ReadinessGatesNotReady" else None


def endpoints(cluster: Cluster) -> tuple[list[str], list[str]]:
    """The Service's ready and not-ready addresses."""
    subsets = read(cluster, "endpoints", "gated").get("subsets", [])
    return (
        [a["ip"] for s in subsets for a in s.get("addresses", [])],
        [a["ip"] for s in subsets for a in s.get("notReadyAddresses", [])],
    )


def test_a_gated_pod_becomes_ready_and_an_endpoint_once_its_condition_is_patched_true(
    cluster: Cluster,
):
    kubectl(cluster, "apply", "-f", "-", stdin=MANIFEST)
    try:
        waiting = wait_until(
            lambda: held_unready(cluster),
            timeout=120,
            interval=1,
            what="gated running, held unready by its gate",
        )
        ip = waiting["status"]["podIP"]
        assert ready(waiting)["message"] == (
            f'corresponding condition of pod readiness gate "{GATE}" does not exist.'
        )
        wait_until(
            lambda: endpoints(cluster) == ([], [ip]),
            timeout=60,
            interval=1,
            what="the pod a not-ready address of its Service",
        )
        wide = kubectl(cluster, "get", "pod", "gated", "-o", "wide")
        assert row(wide, "gated")["READINESS GATES"] == "0/1"

        opened = [{"op": "add", "path": "/status/conditions/-",
                   "value": {"type": GATE, "status": "True"}}]  # fmt: skip
        kubectl(
            cluster, "patch", "pod", "gated", "--subresource=status", "--type=json",
            "-p", json.dumps(opened),
        )  # fmt: skip

        wait_until(
            lambda: ready(read(cluster, "pod", "gated")).get("status") == "True",
            timeout=60,
            interval=1,
            what="gated Ready once its gate's condition is True",
        )
        wide = kubectl(cluster, "get", "pod", "gated", "-o", "wide")
        assert row(wide, "gated")["READINESS GATES"] == "1/1"
        wait_until(
            lambda: endpoints(cluster) == ([ip], []),
            timeout=60,
            interval=1,
            what="the pod a ready address of its Service",
        )
        selector = "kubernetes.io/service-name=gated"

        def sliced() -> list[tuple[list[str], bool]]:
            # The slice is written from the pods beside the Endpoints, not after them.
            items = read(cluster, "endpointslices", "-l", selector)["items"]
            return [
                (e["addresses"], e["conditions"].get("ready") is True)
                for s in items
                for e in s.get("endpoints") or []
            ]

        wait_until(
            lambda: sliced() == [([ip], True)],
            timeout=60,
            interval=1,
            what="the pod a ready endpoint of its Service's EndpointSlice",
        )
    finally:
        cluster.tug("delete", "pod", "gated", "--grace-period", "0", "--force")
        cluster.tug("delete", "service", "gated")

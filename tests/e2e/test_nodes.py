"""Taking a node out of service with `tug cordon` and `tug drain`, and back with uncordon."""

from __future__ import annotations

import pytest

from tests.e2e.tables import DOCS, row, rows
from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_cordon_then_drain_moves_a_deployments_pods_off_the_node(cluster: Cluster):
    manifest = str(DOCS / "nginx-deployment.yaml")
    node = cluster.node_name(1)
    tug = cluster.tug
    try:
        tug("apply", "-f", manifest).ok()
        tug("scale", "deployment/nginx-deployment", "--replicas", "6").ok()
        tug("rollout", "status", "deployment/nginx-deployment", "--timeout", "90").ok()

        assert tug("cordon", node).ok() == f"node/{node} cordoned\n"
        assert row(tug("get", "nodes").ok(), node)["STATUS"] == "Ready,SchedulingDisabled"
        assert "Unschedulable:      true" in tug("describe", "node", node).ok()

        drained = tug(
            "drain", node, "--ignore-daemonsets", "--grace-period", "1", "--timeout", "60"
        )
        assert drained.ok().endswith(f"node/{node} drained\n")

        def moved() -> bool:
            pods = rows(tug("get", "pods", "-l", "app=nginx", "-o", "wide").ok())
            running = [p for p in pods if p["STATUS"] == "Running"]
            return len(running) == 6 and all(p["NODE"] != node for p in pods)

        wait_until(moved, timeout=60, what=f"six nginx pods running off {node}")
        assert row(tug("get", "deploy").ok(), "nginx-deployment")["READY"] == "6/6"
    finally:
        tug("uncordon", node)
        tug("delete", "-f", manifest, "--ignore-not-found")
        tug("delete", "pods", "-l", "app=nginx", "--grace-period", "0", "--ignore-not-found")
    assert row(tug("get", "nodes").ok(), node)["STATUS"] == "Ready"
    wait_until(
        lambda: not rows(tug("get", "pods", "-l", "app=nginx").ok()),
        timeout=60,
        what="the deployment's pods gone",
    )

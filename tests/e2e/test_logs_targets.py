"""`tug logs` picks pods as kubectl does: `deploy/NAME` one pod of the workload, `-l` every
matching pod (with `--prefix` naming each), a kind without pods refused by name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CHATTY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: chatty}
spec:
  replicas: 2
  selector: {matchLabels: {app: chatty}}
  template:
    metadata: {labels: {app: chatty}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: talk
        image: busybox:1.35
        command: ["sh", "-c", "echo hello from $HOSTNAME; exec sleep 3600"]
"""


@pytest.fixture(scope="module")
def chatty(cluster: Cluster) -> Iterator[list[str]]:
    cluster.tug("apply", "-f", "-", stdin=CHATTY).ok()
    try:
        cluster.tug("rollout", "status", "deployment/chatty", "--timeout", "120s").ok()
        names = cluster.tug("get", "pods", "-l", "app=chatty", "-o", "name").ok().split()
        pods = sorted(n.split("/")[1] for n in names)
        for pod in pods:
            wait_until(
                lambda pod=pod: "hello" in cluster.tug("logs", pod).out,  # type: ignore[misc]
                timeout=30,
                interval=0.5,
                what=f"{pod}'s first line",
            )
        yield pods
    finally:
        cluster.tug("delete", "deployment", "chatty", "--ignore-not-found")


def test_logs_of_a_deployment_are_one_of_its_pods(cluster: Cluster, chatty: list[str]):
    out = cluster.tug("logs", "deploy/chatty").ok()
    assert out.strip() in {f"hello from {pod}" for pod in chatty}
    assert cluster.tug("logs", "deployment.apps/chatty").ok() == out


def test_logs_by_selector_print_every_pod_with_its_prefix(cluster: Cluster, chatty: list[str]):
    out = cluster.tug("logs", "-l", "app=chatty", "--prefix").ok()
    assert out.splitlines() == [f"[pod/{pod}] hello from {pod}" for pod in chatty]


def test_a_kind_without_pods_or_a_missing_workload_is_refused_by_name(cluster: Cluster):
    refused = cluster.tug("logs", "configmap/x")
    assert refused.code != 0 and "configmaps: cannot pick pods" in refused.err
    missing = cluster.tug("logs", "deploy/nope")
    assert missing.code != 0 and 'deployments.apps "nope" not found' in missing.err

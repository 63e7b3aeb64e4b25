"""Services as a user meets them: the docs' Service by ClusterIP, and the shop example
(examples/) by NodePort on every node, its web tier reaching the backend by DNS name."""

from __future__ import annotations

import functools

import pytest

from tests.e2e.tables import DOCS, EXAMPLES, http_get, row, rows
from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_the_docs_service_forwards_its_cluster_ip_to_the_pods_named_port(cluster: Cluster):
    manifest = str(DOCS / "service-pod.yaml")
    tug = cluster.tug
    try:
        applied = tug("apply", "-f", manifest).ok()
        assert applied == "pod/nginx created\nservice/nginx-service created\n"
        wait_until(
            lambda: row(tug("get", "pods", "-o", "wide").ok(), "nginx")["STATUS"] == "Running",
            timeout=60,
            what="pod nginx running",
        )
        pod_ip = row(tug("get", "pods", "-o", "wide").ok(), "nginx")["IP"]
        wait_until(
            lambda: row(tug("get", "endpoints").ok(), "nginx-service")["ENDPOINTS"]
            == f"{pod_ip}:80",
            timeout=30,
            what="the service's endpoint",
        )
        cluster_ip = row(tug("get", "svc").ok(), "nginx-service")["CLUSTER-IP"]
        body = wait_until(
            lambda: http_get(f"http://{cluster_ip}/"), timeout=30, what=f"{cluster_ip}:80 answers"
        )
        assert "Welcome to nginx!" in body
        assert "name-of-service-port  80/TCP" in tug("describe", "svc", "nginx-service").ok()
    finally:
        tug("delete", "-f", manifest, "--ignore-not-found", "--grace-period", "0", "--wait")


def test_the_shop_answers_on_every_nodes_port_and_its_web_tier_reaches_the_backend_by_name(
    cluster: Cluster,
):
    tug = cluster.tug
    try:
        applied = tug("apply", "-f", str(EXAMPLES)).ok()
        assert "deployment.apps/web created" in applied
        for deployment in ("backend", "web"):
            tug("rollout", "status", f"deployment/{deployment}", "--timeout", "120").ok()
        everything = tug("get", "all", "-o", "wide").ok()
        assert "80:30080/TCP" in everything and "deployment.apps/web" in everything
        assert row(tug("get", "deploy").ok(), "web")["READY"] == "3/3"
        for j in range(cluster.nodes):
            url = f"http://{cluster.node_ip(j)}:30080/"
            page = wait_until(functools.partial(http_get, url), timeout=30, what=f"{url} answers")
            assert "Hello from Tugboat" in page

        last: list[str | None] = [None]

        def items() -> str | None:
            last[0] = got = http_get(f"http://{cluster.node_ip(0)}:30080/cgi-bin/items", 8)
            return got if got and "anchor" in got else None

        try:
            body = wait_until(items, timeout=30, what="the web tier's items from the backend")
        except AssertionError as e:
            raise AssertionError(f"{e}; /cgi-bin/items last answered {last[0]!r}") from None
        assert '"lifebuoy"' in body
    finally:
        tug("delete", "-f", str(EXAMPLES), "--ignore-not-found")
        tug("delete", "pods", "-l", "app=shop", "--grace-period", "0", "--ignore-not-found")
    wait_until(
        lambda: not rows(tug("get", "pods", "-l", "app=shop").ok()),
        timeout=60,
        what="the shop's pods gone",
    )

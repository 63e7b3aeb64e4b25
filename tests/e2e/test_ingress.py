"""Ingress as a user meets it: two rules send traffic to two Services by host and by path,
asked with curl at a node's address on port 80, as `curl --resolve` against any node."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.tables import row
from tests.support.cluster import Cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _tier(name: str, files: str) -> str:
    """A Deployment of one busybox httpd pod writing `files` first, and its Service."""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: httpd
        image: busybox:1.35
        command: ["sh", "-c", "{files} && exec httpd -f -p 80 -h /www"]
        ports: [{{containerPort: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80}}]
"""


MANIFEST = (
    _tier("hello-web", "mkdir -p /www && echo web > /www/index.html")
    + "---"
    + _tier("hello-api", "mkdir -p /www/api && echo api > /www/api/index.html")
    + """---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: hello}
spec:
  rules:
  - host: web.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: hello-web, port: {number: 80}}}}
  - host: shop.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: hello-web, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: hello-api, port: {number: 80}}}}
"""
)


def curl(host: str, node_ip: str, path: str) -> tuple[int, str]:
    """(status, body) of `curl --resolve host:80:node_ip http://host/path`."""
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "3", "-w", "\n%{http_code}",
         "--resolve", f"{host}:80:{node_ip}", f"http://{host}{path}"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    body, _, code = done.stdout.rpartition("\n")
    return int(code or 0), body.strip()


def _status_ips(text: str) -> list[str]:
    points = json.loads(text).get("status", {}).get("loadBalancer", {}).get("ingress", [])
    return [p.get("ip", "") for p in points]


def test_two_ingress_rules_route_by_host_and_by_path_on_every_node(cluster: Cluster) -> None:
    tug = cluster.tug
    try:
        applied = tug("apply", "-f", "-", stdin=MANIFEST).ok()
        assert "ingress.networking.k8s.io/hello created" in applied
        for name in ("hello-web", "hello-api"):
            tug("rollout", "status", f"deployment/{name}", "--timeout", "120").ok()
        node = cluster.node_ip(0)
        wait_until(
            lambda: curl("shop.test", node, "/api/index.html") == (200, "api"),
            timeout=30,
            what="shop.test/api routed to hello-api",
        )
        for j in range(cluster.nodes):
            ip = cluster.node_ip(j)
            assert curl("web.test", ip, "/") == (200, "web")
            assert curl("web.test", ip, "/api/index.html")[0] == 404  # web has no /api
            assert curl("shop.test", ip, "/") == (200, "web")
            assert curl("shop.test", ip, "/api/index.html") == (200, "api")
            assert curl("elsewhere.test", ip, "/")[0] == 404
        addresses = {cluster.node_ip(j) for j in range(cluster.nodes)}

        def listed() -> bool:
            line = row(tug("get", "ingress", "-o", "wide").ok(), "hello")
            return line["CLASS"] == "tugboat" and bool(line.get("ADDRESS"))

        wait_until(listed, timeout=30, what="the ingress' class and address listed")
        wait_until(
            lambda: (
                set(_status_ips(tug("get", "ingress", "hello", "-o", "json").ok())) == addresses
            ),
            timeout=30,
            what="every ready node in the ingress' status",
        )
    finally:
        tug("delete", "-f", "-", "--ignore-not-found", "--grace-period", "0", stdin=MANIFEST)

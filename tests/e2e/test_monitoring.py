"""Monitoring for real: `tug up --monitoring`, Debian's Prometheus, one cluster for the module.

A Deployment behind a NodePort Service with some traffic, and a pod that asks to be
scraped; then, against the real Prometheus:
- every discovered target (API servers, schedulers and controller managers with their
  standbys, kube-state-metrics, each node's kubelet, cAdvisor and proxy, etcd, the pod)
  is up within 30 s;
- every query of every dashboard panel returns a series, its template variables
  substituted with real values;
- the kube_* series are served once, by the leading controller manager only;
- a pod exiting 1 in a loop counts restarts and fires the crash-loop alert;
- a killed kubelet fires the node-NotReady alert.
The alerts under test are the real rules with short `for:` (a rule file made for the
test, dropped into the cluster's monitoring/rules.d/ and loaded with /-/reload).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.tables import http_get
from tests.support.cluster import Cluster, running_cluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "monitoring"
NODE_PORT = 30181

WORKLOAD = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: mon-web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: mon-web}}}}
  template:
    metadata: {{labels: {{app: mon-web}}}}
    spec:
      containers:
      - name: web
        image: busybox:1.35
        command:
        - sh
        - -c
        - mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www
        ports: [{{containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: mon-web}}
spec:
  type: NodePort
  selector: {{app: mon-web}}
  ports: [{{port: 80, targetPort: 8080, nodePort: {NODE_PORT}}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: exporter
  annotations: {{prometheus.io/scrape: "true", prometheus.io/port: "9100"}}
spec:
  containers:
  - name: exporter
    image: busybox:1.35
    command:
    - sh
    - -c
    - mkdir -p /www && echo 'demo_requests_total 7' > /www/metrics && exec httpd -f -p 9100 -h /www
"""

CRASHER = """
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - {name: main, image: "busybox:1.35", command: [sh, -c, "exit 1"]}
"""

FAST_ALERTS = ("TugboatNodeNotReady", "TugboatPodCrashLooping")


def fast_rules() -> str:
    """The real alerts under test, with `for: 5s`, in a group of their own."""
    rules = yaml.safe_load((DEPLOY / "rules" / "tugboat.rules.yml").read_text())
    alerts = [
        dict(r, **{"for": "5s"})
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert") in FAST_ALERTS
    ]
    assert len(alerts) == len(FAST_ALERTS)
    return yaml.safe_dump({"groups": [{"name": "e2e-fast", "interval": "5s", "rules": alerts}]})


class Prometheus:
    """The cluster's Prometheus, through its HTTP API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get("/api/v1/query", query=expr)["result"]
        return found

    def reload(self) -> None:
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status == 200

    def firing(self, alert: str) -> list[dict[str, str]]:
        return [
            a["labels"]
            for a in self.get("/api/v1/alerts")["alerts"]
            if a["labels"]["alertname"] == alert and a["state"] == "firing"
        ]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = time.monotonic()
    home = tmp_path_factory.mktemp("mon") / "tug-home"
    with running_cluster(home, name="mon", nodes=2, extra=("--monitoring",)) as c:
        print(f"cluster with monitoring up in {time.monotonic() - started:.0f} s")
        (c.root / "monitoring" / "rules.d" / "e2e-fast.yml").write_text(fast_rules())
        yield c
    print(f"monitoring module took {time.monotonic() - started:.0f} s")


@pytest.fixture(scope="module")
def prometheus(cluster: Cluster) -> Prometheus:
    prom = Prometheus(f"http://127.0.0.1:{cluster.base_port + 60}")
    prom.reload()
    return prom


@pytest.fixture(scope="module")
def workload(cluster: Cluster) -> Iterator[None]:
    cluster.tug("apply", "-f", "-", stdin=WORKLOAD).ok()
    cluster.tug("rollout", "status", "deployment/mon-web", "--timeout", "120").ok()
    url = f"http://{cluster.node_ip(0)}:{NODE_PORT}/"
    wait_until(lambda: http_get(url), timeout=30, what=f"{url} answers")
    for _ in range(20):  # some traffic for the proxy's and the containers' counters
        http_get(url)
    yield
    cluster.tug("delete", "-f", "-", "--ignore-not-found", "--wait", stdin=WORKLOAD)


EXPECTED_JOBS = {
    "apiserver": 3,
    "kube-scheduler": 3,
    "kube-controller-manager": 3,
    "kube-state-metrics": 3,
    "kubelet": 4,
    "kube-proxy": 2,
    "etcd": 1,
    "kubernetes-pods": 1,
}


def test_every_component_is_discovered_and_up_within_30_seconds(
    cluster: Cluster, prometheus: Prometheus, workload: None
):
    started = time.monotonic()

    def all_up() -> dict[str, int] | None:
        targets = prometheus.get("/api/v1/targets", state="active")["activeTargets"]
        up: dict[str, int] = {}
        for t in targets:
            if t["health"] == "up":
                up[t["labels"]["job"]] = up.get(t["labels"]["job"], 0) + 1
        return up if up == EXPECTED_JOBS else None

    wait_until(all_up, timeout=30, interval=1, what=f"targets up: {EXPECTED_JOBS}")
    print(f"every target up {time.monotonic() - started:.0f} s after the workload ran")
    pod = prometheus.query('demo_requests_total{job="kubernetes-pods", pod="exporter"}')
    assert pod and pod[0]["value"][1] == "7"


def test_cluster_state_is_served_once_by_the_leading_controller_manager(
    prometheus: Prometheus, workload: None
):
    found = wait_until(
        lambda: prometheus.query('kube_deployment_spec_replicas{deployment="mon-web"}'),
        timeout=30,
        interval=1,
        what="kube_deployment_spec_replicas of mon-web",
    )
    assert len(found) == 1, f"counted more than once: {found}"
    leader = prometheus.query('tugboat_leader_is_leader{component="tug-controller-manager"} == 1')
    assert found[0]["metric"]["identity"] == leader[0]["metric"]["identity"]


_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*(\w+)\)$")
PREFERRED = {"namespace": "default", "resource": "pods"}


def _substitute(expr: str, values: dict[str, str]) -> str:
    for name, value in sorted(values.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(f"${name}", value)
    return expr


def _variable_values(prometheus: Prometheus, dashboard: dict[str, Any]) -> dict[str, str]:
    """A real value for every query variable, each resolved with the ones before it."""
    chosen: dict[str, str] = {}
    for var in dashboard["templating"]["list"]:
        if var["type"] != "query":
            continue
        match = _LABEL_VALUES.match(_substitute(var["definition"], chosen))
        assert match, var["definition"]
        selector, label = match.groups()
        result = prometheus.query(f"group by ({label}) ({selector})")
        values = sorted(r["metric"][label] for r in result if label in r["metric"])
        assert values, f"variable {var['name']}: {var['definition']} has no values"
        preferred = PREFERRED.get(var["name"], "")
        chosen[var["name"]] = preferred if preferred in values else values[0]
    return chosen


def _answers(prometheus: Prometheus, expr: str) -> Callable[[], list[dict[str, Any]]]:
    return lambda: prometheus.query(expr)


def test_every_dashboard_panel_returns_a_series_with_real_variable_values(
    prometheus: Prometheus, workload: None
):
    # Rates over [5m] and histograms need a few scrapes first.
    wait_until(
        lambda: prometheus.query("tugboat:apiserver_request_errors:ratio_rate5m"),
        timeout=60,
        interval=2,
        what="the recording rules' first values",
    )
    empty: list[str] = []
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        values = _variable_values(prometheus, dashboard)
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                expr = _substitute(target["expr"], values)
                assert "$" not in expr, expr
                try:
                    wait_until(_answers(prometheus, expr), timeout=30, interval=2, what=expr)
                except AssertionError:
                    empty.append(f"{path.stem} / {panel['title']}: {expr}")
    assert not empty, "panels without data:\n" + "\n".join(empty)


def test_kubelet_container_metrics_pass_promtool(cluster: Cluster, workload: None):
    def sampled() -> bytes | None:
        # The web pods' node, once its kubelet has sampled them (every stats period).
        for j in range(2):
            url = f"http://{cluster.node_ip(j)}:{cluster.base_port + 51}/metrics/cadvisor"
            with urllib.request.urlopen(url, timeout=10) as r:
                body = bytes(r.read())
            if b'container="web"' in body:
                return body
        return None

    body = wait_until(sampled, timeout=45, interval=1, what='container="web" in a kubelet')
    checked = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_a_crash_looping_pod_counts_restarts_and_fires_its_alert(
    cluster: Cluster, prometheus: Prometheus
):
    cluster.tug("apply", "-f", "-", stdin=CRASHER).ok()
    try:
        restarts = wait_until(
            lambda: prometheus.query(
                'kube_pod_container_status_restarts_total{pod="crasher"} >= 1'
            ),
            timeout=90,
            interval=2,
            what="the crasher's restarts in kube_pod_container_status_restarts_total",
        )
        assert restarts[0]["metric"]["container"] == "main"
        firing = wait_until(
            lambda: prometheus.firing("TugboatPodCrashLooping"),
            timeout=90,
            interval=2,
            what="TugboatPodCrashLooping firing",
        )
        assert {a["pod"] for a in firing} == {"crasher"}
    finally:
        cluster.tug("delete", "pod", "crasher", "--grace-period", "0", "--wait")


def test_a_killed_kubelet_fires_node_not_ready(cluster: Cluster, prometheus: Prometheus):
    node = cluster.node_name(1)
    assert not prometheus.firing("TugboatNodeNotReady")
    cluster.kill("kubelet-1")
    try:
        firing = wait_until(
            lambda: prometheus.firing("TugboatNodeNotReady"),
            timeout=90,
            interval=2,
            what="TugboatNodeNotReady firing",
        )
        assert {a["node"] for a in firing} == {node}
        down = prometheus.query(f'up{{job="kubelet", node="{node}"}} == 0')
        assert down, "the dead kubelet stays a target, seen down"
    finally:
        cluster.restart("kubelet-1")
        wait_until(
            lambda: not prometheus.firing("TugboatNodeNotReady"),
            timeout=90,
            interval=2,
            what="the node Ready again",
        )

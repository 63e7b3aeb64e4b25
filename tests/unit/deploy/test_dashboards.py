"""The Grafana dashboards: four of them, every panel a Prometheus query, template variables
for namespace, node and pod. That every query returns data is checked against a real
Prometheus and cluster in tests/e2e/test_monitoring.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "deploy" / "monitoring" / "grafana" / "dashboards"


def load() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def test_there_are_the_four_dashboards_with_unique_uids():
    found = load()
    assert set(found) == {"cluster-overview", "apiserver", "control-plane", "nodes-pods"}
    assert len({d["uid"] for d in found.values()}) == 4


@pytest.mark.parametrize("name", sorted(load()))
def test_every_panel_queries_prometheus_and_uses_only_defined_variables(name):
    dashboard = load()[name]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert "datasource" in variables
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = set(re.findall(r"\$(\w+)", target["expr"]))
            assert used <= variables, (panel["title"], used - variables)


def test_namespace_node_and_pod_are_template_variables_where_pods_are_shown():
    found = load()
    names = {v["name"] for v in found["nodes-pods"]["templating"]["list"]}
    assert {"namespace", "node", "pod"} <= names
    overview = {v["name"] for v in found["cluster-overview"]["templating"]["list"]}
    assert {"namespace", "node"} <= overview

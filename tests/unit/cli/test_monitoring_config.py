"""`tug up --monitoring`'s Prometheus configuration: this cluster's discovery, valid."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from cli.cluster import monitoring
from cli.cluster.layout import Layout


@pytest.fixture(autouse=True)
def tug_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUG_HOME", str(tmp_path / "home"))


def test_discovery_points_at_every_api_server_of_the_cluster_and_rules_are_absolute():
    layout = Layout("mon", base_port=7000, masters=2)
    config = monitoring.prometheus_config(layout)
    urls = [c["url"] for c in config["scrape_configs"][0]["http_sd_configs"]]
    assert urls == [
        "http://127.0.0.1:7010/discovery/prometheus",
        "http://127.0.0.1:7011/discovery/prometheus",
    ]
    rules = config["rule_files"]
    assert rules[0] == str(monitoring.DEPLOY / "rules" / "tugboat.rules.yml")
    assert rules[1] == str(layout.root / "monitoring" / "rules.d" / "*.yml")
    assert monitoring.prometheus_port(layout) == 7060


def test_the_written_configuration_passes_promtool(tmp_path: Path):
    layout = Layout("mon", base_port=7000, masters=3)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(monitoring.prometheus_config(layout)))
    checked = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_without_grafana_tug_up_says_how_to_add_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    layout = Layout("mon", base_port=7000)
    assert monitoring.grafana(layout) is None
    lines = monitoring.summary(layout, [])
    assert lines[0] == "Prometheus: http://127.0.0.1:7060/ (alerts at /alerts)"
    assert "grafana-server is not on PATH" in lines[1] and "compose.yaml" in lines[1]

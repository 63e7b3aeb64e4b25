"""bench.run reads bench.pod_start's medians, ratios and phase breakdown back."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

# Imported by name, as in test_run.py: mypy sees bench/ as top-level scripts.
run: Any = importlib.import_module("bench.run")
pod_start: Any = importlib.import_module("bench.pod_start")

OUTPUT = """pod start: 30 pods of busybox:1.35, 3 rounds each
  1 node(s) round 1: tugboat 6.00s, docker run 4.10s, swarm 7.40s

tugboat 1 node: median 6.00s (rounds 6.00 5.90 6.20)
docker run -d x30 (parallel, CLI), 1 node window: median 4.12s (rounds 4.10 4.12 4.40)
docker swarm service --replicas 30, 1 node window: median 7.50s (rounds 7.40 7.50 8.00)
ratio tugboat/raw 1 node: 1.46
ratio tugboat/swarm 1 node: 0.80
containers started per second, 1 node: tugboat 10.00 (sandbox + app), docker run 7.28
tugboat 3 nodes: median 6.60s (rounds 6.60 6.50 7.00)
docker run -d x30 (parallel, CLI), 3 nodes window: median 4.20s (rounds 4.10 4.20 4.40)
docker swarm service --replicas 30, 3 nodes window: median 7.00s (rounds 7.00 7.50 6.00)
ratio tugboat/raw 3 nodes: 1.57
ratio tugboat/swarm 3 nodes: 0.94
previous run (2026-12-01T10:00:00Z): tugboat_1_node_median_s 7.1, ratio 1.7

phase breakdown, 1 node (90 pods, 3 rounds):
  phase                                       median     p90  last pod at
  apply -> ReplicaSet seen                     0.02s   0.03s        0.02s
  pod created -> scheduled (bound)             0.05s   0.10s        1.20s    90
  Running -> Ready                                 -
  apply -> Running, per pod                    3.10s
"""


def test_the_medians_and_ratios_are_read_back_with_1_node_against_raw_as_headline() -> None:
    figures = run._pod_start(OUTPUT)
    assert figures["tugboat_1_node_median_s"] == 6.0
    assert figures["raw_1_node_median_s"] == 4.12
    assert figures["swarm_1_node_median_s"] == 7.5
    assert figures["tugboat_3_nodes_median_s"] == 6.6
    assert figures["raw_3_nodes_median_s"] == 4.2
    assert figures["swarm_3_nodes_median_s"] == 7.0
    assert figures["ratio"] == 1.46
    assert figures["ratio_raw_3_nodes"] == 1.57
    assert figures["ratio_swarm_1_node"] == 0.8
    assert figures["ratio_swarm_3_nodes"] == 0.94
    assert figures["per_pod_median_s"] == 3.1
    assert figures["tugboat_1_node_containers_per_s"] == 10.0
    assert figures["raw_1_node_containers_per_s"] == 7.28


def test_each_phase_gives_its_median_and_when_the_last_pod_got_there() -> None:
    figures = run._pod_start(OUTPUT)
    assert figures["phase_apply_replicaset_seen_median_s"] == 0.02
    assert figures["phase_pod_created_scheduled_bound_median_s"] == 0.05
    assert figures["phase_pod_created_scheduled_bound_last_s"] == 1.2
    assert not any("ready" in key for key in figures)  # a phase with no figure is left out


def test_without_swarm_there_are_no_swarm_figures() -> None:
    text = "\n".join(line for line in OUTPUT.splitlines() if "swarm" not in line)
    text += "\ndocker swarm: skipped, this engine is already in a swarm (active): left alone\n"
    figures = run._pod_start(text)
    assert not any("swarm" in key for key in figures)
    assert figures["ratio"] == 1.46


def test_the_printed_phase_breakdown_is_what_the_parser_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    r = pod_start.Round(applied=100.0, replicaset=100.1)
    for i in range(3):
        marks = pod_start.Marks()
        for offset, name in enumerate(
            ["created", "scheduled", "sandbox", "sandbox_started", "app_created", "started"]
        ):
            marks.mark(name, 100.2 + i * 0.1 + offset * 0.1)
        marks.mark("running", 101.0 + i)
        marks.mark("ready", 101.0 + i)
        r.pods[f"p{i}"] = marks
    assert r.total() == pytest.approx(3.0)
    pod_start.phase_report([r])
    figures = run._pod_start(capsys.readouterr().out)
    assert figures["phase_apply_replicaset_seen_median_s"] == pytest.approx(0.1)
    assert figures["phase_replicaset_pod_created_median_s"] == pytest.approx(0.2)
    assert figures["phase_replicaset_pod_created_last_s"] == pytest.approx(0.4)
    assert figures["phase_app_started_running_seen_in_api_last_s"] == pytest.approx(3.0)
    assert figures["phase_running_ready_median_s"] == 0.0
    assert figures["per_pod_median_s"] == pytest.approx(2.0)

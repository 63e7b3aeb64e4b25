"""bench/run.py reads each benchmark's printed figures back, and finds new benchmarks."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

# Imported by name, not statically: mypy checks bench/ as top-level scripts (no package),
# and a static `bench.run` import would make it see bench/run.py under two names.
run: Any = importlib.import_module("bench.run")

KUBELET = """pods: 30 on one node (30 reached Running)
kubelet bound->Running: total 6.10s, per pod median 3.20s, max 5.90s
docker run x30 (sequential): total 12.20s
ratio kubelet/docker (total wall time): 0.50
"""

APISERVER = """API server latency: 500 ConfigMaps, concurrency 16, one API server
operation           p50 ms    p99 ms    per second
create               24.88     48.64         614.8
get                  10.32     25.32        1368.5
list500              38.86     51.79         263.9
etcd_put              2.70      7.77        4834.3
creates/s through the API server vs raw etcd puts/s through aetcd: 0.13x
"""

SCHEDULER = """scheduler throughput (1000 pods in memory, 500 pods through the API)
 nodes  path        bound  seconds   pods/s
   100  in-memory    1000     0.50     2000
   100  full API      500     1.00      500
"""


def test_the_kubelet_benchmarks_ratio_and_totals_are_read_back():
    assert run._kubelet_start(KUBELET) == {
        "kubelet_total_s": 6.1,
        "kubelet_median_s": 3.2,
        "docker_total_s": 12.2,
        "ratio": 0.5,
    }


def test_the_api_server_benchmarks_table_and_ratio_are_read_back():
    figures = run._apiserver_latency(APISERVER)
    assert figures["create_p99_ms"] == 48.64
    assert figures["list500_per_second"] == 263.9
    assert figures["ratio"] == 0.13


def test_the_scheduler_ratio_is_api_over_in_memory_at_100_nodes():
    figures = run._scheduler_throughput(SCHEDULER)
    assert figures["in_memory_100_nodes_pods_per_s"] == 2000
    assert figures["ratio"] == pytest.approx(0.25)


def test_a_benchmark_without_an_entry_gets_its_ratio_lines_as_figures():
    text = "rps through proxy: 900\nproxy vs direct: 0.75x\nratio proxy/haproxy: 1.10\n"
    assert run._generic(text) == {"proxy_vs_direct": 0.75, "ratio_proxy_haproxy": 1.1}


def test_every_benchmark_module_in_bench_is_run(tmp_path: Path, monkeypatch):
    (tmp_path / "known.py").write_text("")
    (tmp_path / "newcomer.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__main__.py").write_text("")
    (tmp_path / "empty").mkdir()
    (tmp_path / "run.py").write_text("")
    monkeypatch.setattr(run, "HERE", tmp_path)
    monkeypatch.setattr(run, "RUNS", [run.Run("known", "bench.known")])
    assert [(r.name, r.module) for r in run.discover()] == [
        ("known", "bench.known"),
        ("newcomer", "bench.newcomer"),
        ("pkg", "bench.pkg"),
    ]


def test_the_summary_table_marks_failures_and_shows_ratios():
    results: list[dict[str, object]] = [
        {"name": "a", "returncode": 0, "seconds": 1.0, "headline": "x", "figures": {"ratio": 2}},
        {"name": "b", "returncode": 1, "seconds": 2.0, "headline": "", "figures": {}},
    ]
    lines = run.table(results).splitlines()
    assert lines[1].split() == ["a", "ok", "1.0", "2.00", "x"]
    assert lines[2].split() == ["b", "FAILED", "2.0", "-"]


def test_the_proxy_benchmarks_headline_is_tug_proxy_against_haproxy_from_the_medians():
    text = (
        "  round 1 proxy          7000 req/s   p99    30.00 ms   socket errors: timeout 2\n"
        "  round 1 haproxy       12000 req/s   p99     9.00 ms\n"
        "proxy         9000 req/s   p99    12.50 ms\n"
        "haproxy      10000 req/s   p99    10.00 ms\n"
        "ratio proxy/direct req/s: 0.50\n"
        "ratio proxy/haproxy req/s: 0.90\n"
    )
    figures = run._proxy(text)
    assert figures["proxy_req_per_s"] == 9000
    assert figures["haproxy_p99_ms"] == 10.0
    assert figures["ratio"] == 0.9

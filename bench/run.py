"""`make bench`: every benchmark in bench/, one after another in one run on this machine.

    .venv/bin/python -m bench.run [--only NAME ...] [--list]

Each benchmark runs as its own process (`python -m bench.NAME ARGS`), so none shares an
event loop or a leftover process with another. Its printed figures are read back with a
pattern per benchmark (the benchmarks only print; see bench/results/README.md for what
each figure means and what it is compared with) and written to
`bench/results/<name>.json` with the whole output. Then a PNG chart of the headline
ratios and a summary table. A benchmark that fails is reported as such and the others
still run; nothing asserts on time.

A benchmark added to bench/ (a module, or a package with `__main__.py`) runs with no
arguments until it is given a `Run` entry below; its lines that contain "ratio" or end
in "Nx" become its figures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LIMIT = 1800.0
"""Seconds one benchmark may take before it is stopped."""

Figures = dict[str, float]


def _number(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None


def _pick(text: str, **patterns: str) -> Figures:
    """The figures whose pattern matched (the first group, as a number)."""
    out = {}
    for name, pattern in patterns.items():
        value = _number(pattern, text)
        if value is not None:
            out[name] = value
    return out


def _scale(text: str, headline: str) -> Figures:
    """bench.scale's figures, with `headline` also as the ratio."""
    figures = _pick(
        text,
        pods_per_second=r"Running (?:in|after) [\d.]+ s: ([\d.]+) pods/s",
        nodes_ready_seconds=r"simulated nodes in \d+ processes Ready in ([\d.]+) s",
        requests_per_pod=r"API requests per pod during the rollout: ([\d.]+)",
        false_not_ready=r"false NotReady nodes: (\d+)",
        fenced=r"nodes that fenced their pods: (\d+)",
        leader_changes=r"leader changes: (\d+)",
        kubelets_cpu_share=r"^  kubelets +([\d.]+)",
        all_cpu_share=r"^  all +([\d.]+)",
        renewals_timed_out=r"lease renewals that failed: (\d+) timed out",
        renewals_lost_race=r"lease renewals that failed: \d+ timed out, (\d+) lost a race",
        renewals_begun_late=r"renewals begun late \(.*?\): (\d+)",
        renewals_begun_past_grace=r"renewals begun late \(.*?\): \d+, (\d+) of them",
        update_wait_longest_ms=r"round trips a client waited.*?update \d+ / (\d+)",
        lease_update_wait_longest_ms=r"round trips a client waited.*lease update \d+ / (\d+)",
    )
    if headline in figures:
        figures["ratio"] = figures[headline]
    return figures


def _generic(text: str) -> Figures:
    """Every "...: N" on a line about a ratio, and every "Nx" at a line's end."""
    out: Figures = {}
    for line in text.splitlines():
        ratio = re.search(r"([-+]?\d+(?:\.\d+)?)x\)?\s*$", line)
        named = re.search(r"ratio[^:]*:\s*([-+]?\d+(?:\.\d+)?)", line)
        found = named or ratio
        if found:
            label = re.sub(r"[^a-z0-9]+", "_", line.split(":")[0].lower()).strip("_")[:60]
            out[label or f"line_{len(out)}"] = float(found.group(1))
    return out


def _kubelet_start(text: str) -> Figures:
    return _pick(
        text,
        kubelet_total_s=r"kubelet bound->Running: total ([\d.]+)s",
        kubelet_median_s=r"per pod median ([\d.]+)s",
        docker_total_s=r"docker run x\d+ \(sequential\): total ([\d.]+)s",
        ratio=r"ratio kubelet/docker \(total wall time\): ([\d.]+)",
    )


def _kubelet_stats(text: str) -> Figures:
    return _pick(
        text,
        ratio=r"ratio stats-collection CPU / stats-off kubelet CPU: ([-\d.]+)",
        side_by_side=r"\(stats-on - stats-off\) / stats-off kubelet CPU: ([-\d.]+)",
        scrape_ms=r"scrape: median ([\d.]+) ms",
        samples=r"ms, (\d+) samples",
    )


def _apiserver_latency(text: str) -> Figures:
    figures: Figures = {}
    for op in ("create", "get", r"list\d+", "etcd_put"):
        row = re.search(rf"^({op})\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", text, re.MULTILINE)
        if row:
            name = row.group(1)
            figures[f"{name}_p50_ms"] = float(row.group(2))
            figures[f"{name}_p99_ms"] = float(row.group(3))
            figures[f"{name}_per_second"] = float(row.group(4))
    ratio = _number(r"raw etcd puts/s through aetcd: ([\d.]+)x", text)
    if ratio is not None:
        figures["ratio"] = ratio
    for n, creates, gets, watch in re.findall(
        r"^(\d)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", text, re.MULTILINE
    ):
        figures[f"servers{n}_creates_per_second"] = float(creates)
        figures[f"servers{n}_gets_per_second"] = float(gets)
        figures[f"servers{n}_watch_events_per_second"] = float(watch)
    return figures


def _scheduler_throughput(text: str) -> Figures:
    figures: Figures = {}
    for nodes, path, rate in re.findall(
        r"^\s*(\d+)\s+(in-memory|full API)\s+\d+\s+[\d.]+\s+([\d.]+)\s*$", text, re.MULTILINE
    ):
        figures[f"{path.replace(' ', '_').replace('-', '_')}_{nodes}_nodes_pods_per_s"] = float(
            rate
        )
    api, memory = (
        figures.get("full_API_100_nodes_pods_per_s"),
        figures.get("in_memory_100_nodes_pods_per_s"),
    )
    if api and memory:
        figures["ratio"] = api / memory
    return figures


def _leader_failover(lease: float) -> Callable[[str], Figures]:
    def parse(text: str) -> Figures:
        figures = _pick(
            text,
            median_s=r"median ([\d.]+)s",
            max_s=r"max ([\d.]+)s over",
        )
        figures["lease_s"] = lease
        if "median_s" in figures:
            figures["ratio"] = figures["median_s"] / lease
        return figures

    return parse


def _node_death(text: str) -> Figures:
    figures = _pick(
        text,
        tugboat_s=r"Tugboat defaults \(8 s \+ 2 s\): ([\d.]+) s",
        kubernetes_s=r"Kubernetes defaults \(40 s \+ 300 s\): ([\d.]+) s",
    )
    if "tugboat_s" in figures:
        # The floor set by the timings: grace period (8 s) + default toleration (2 s).
        figures["ratio"] = figures["tugboat_s"] / 10.0
    return figures


def _rollout(text: str) -> Figures:
    figures = _pick(
        text,
        created_s=r"replicas Running in ([\d.]+) s",
        pods_per_s=r"\(([\d.]+) pods/s\)",
        rolling_update_s=r"rolling update of \d+ replicas .*: ([\d.]+) s",
    )
    if figures.get("created_s") and "rolling_update_s" in figures:
        figures["ratio"] = figures["rolling_update_s"] / figures["created_s"]
    return figures


def _proxy(text: str) -> Figures:
    figures = _generic(text)
    for name, rps, p99 in re.findall(
        r"^(\S+)\s+([\d.]+) req/s\s+p99\s+([\d.]+) ms", text, re.MULTILINE
    ):
        figures[f"{name}_req_per_s"] = float(rps)
        figures[f"{name}_p99_ms"] = float(p99)
    if "ratio_proxy_haproxy_req_s" in figures:
        figures["ratio"] = figures["ratio_proxy_haproxy_req_s"]
    return figures


def _rest(text: str) -> Figures:
    figures = _pick(
        text,
        ratio=r"ratio http/grpc creates/s: ([\d.]+)",
        list_latency_ratio=r"ratio grpc/http list latency: ([\d.]+)",
        watch_ratio=r"ratio http/grpc watch events/s: ([\d.]+)",
    )
    for key, grpc_value, http_value in re.findall(
        r"^(\w+)\s+([\d.]+)\s+([\d.]+)\s*$", text, re.MULTILINE
    ):
        figures[f"grpc_{key}"] = float(grpc_value)
        figures[f"http_{key}"] = float(http_value)
    return figures


def _hosts(text: str) -> Figures:
    figures: Figures = {}
    for driver, key, value in re.findall(
        r"^(process|docker)\s+(\w+)\s+([\d.]+)\s*$", text, re.MULTILINE
    ):
        figures[f"{driver}_{key}"] = float(value)
    for key, value in re.findall(r"ratio (\w+): ([\d.]+)", text):
        figures[f"ratio_{key}"] = float(value)
    if "ratio_pods_running_s" in figures:
        figures["ratio"] = figures["ratio_pods_running_s"]
    return figures


def _pod_start(text: str) -> Figures:
    figures = _pick(
        text,
        ratio=r"^ratio tugboat/raw 1 node: ([\d.]+)",
        per_pod_median_s=r"^\s+apply -> Running, per pod\s+([\d.]+)s",
    )
    # Each cluster's window: its medians, and raw's and Swarm's measured between its rounds.
    for nodes in ("1 node", "3 nodes"):
        key = nodes.replace(" ", "_")
        figures.update(
            _pick(
                text,
                **{
                    f"tugboat_{key}_median_s": rf"^tugboat {nodes}: median ([\d.]+)s",
                    f"raw_{key}_median_s": rf"^docker run -d .*, {nodes} window: median ([\d.]+)s",
                    f"swarm_{key}_median_s": rf"^docker swarm .*, {nodes} window: median ([\d.]+)s",
                    f"ratio_swarm_{key}": rf"^ratio tugboat/swarm {nodes}: ([\d.]+)",
                    f"tugboat_{key}_containers_per_s": rf"^containers .*{nodes}: tugboat ([\d.]+)",
                    f"raw_{key}_containers_per_s": rf"^containers .*{nodes}: .*docker run ([\d.]+)",
                },
            )
        )
    three = _number(r"^ratio tugboat/raw 3 nodes: ([\d.]+)", text)
    if three is not None:
        figures["ratio_raw_3_nodes"] = three
    # The phase breakdown: "  <phase>   <median>s   <p90>s   <last pod at>s   <pods>".
    for phase, med, last in re.findall(
        r"^  (\S.*?\S)\s+([\d.]+)s\s+[\d.]+s\s+([\d.]+)s(?:\s+\d+)?\s*$", text, re.MULTILINE
    ):
        key = re.sub(r"[^a-z0-9]+", "_", phase.lower()).strip("_")
        figures[f"phase_{key}_median_s"] = float(med)
        figures[f"phase_{key}_last_s"] = float(last)
    return figures


@dataclass(frozen=True)
class Run:
    """One benchmark run: its result name, module, arguments and how to read its output."""

    name: str
    module: str
    args: list[str] = field(default_factory=list)
    parse: Callable[[str], Figures] = _generic
    headline: str = ""
    """What the headline ratio (`figures["ratio"]`) compares, for the chart and the table."""


RUNS = [
    Run(
        "apiserver_latency",
        "bench.apiserver_latency",
        ["--objects", "500", "--concurrency", "16"],
        _apiserver_latency,
        "API creates/s ÷ raw etcd puts/s",
    ),
    Run(
        "kubelet_start",
        "bench.kubelet_start",
        ["--pods", "30"],
        _kubelet_start,
        "kubelet 30 pods ÷ 30 docker runs (time)",
    ),
    Run(
        "pod_start",
        "bench.pod_start",
        ["--pods", "30", "--rounds", "3"],
        _pod_start,
        "apply to 30 pods Running, 1 node ÷ 30 parallel docker runs (time)",
    ),
    Run(
        "kubelet_stats",
        "bench.kubelet_stats",
        ["--pods", "30", "--window", "60"],
        _kubelet_stats,
        "kubelet stats collection CPU ÷ kubelet CPU without stats",
    ),
    Run(
        "scheduler_throughput",
        "bench.scheduler_throughput",
        ["--pods", "1000", "--api-pods", "500"],
        _scheduler_throughput,
        "scheduling via API ÷ in memory (pods/s, 100 nodes)",
    ),
    Run(
        "leader_failover",
        "bench.leader_failover",
        ["--rounds", "3", "--lease", "3"],
        _leader_failover(3.0),
        "scheduler fail-over ÷ lease TTL (time)",
    ),
    Run(
        "controllers_node_death",
        "bench.controllers_cluster",
        ["node-death", "--replicas", "30"],
        _node_death,
        "node death to pods elsewhere ÷ 10 s grace+toleration",
    ),
    Run(
        "proxy",
        "bench.proxy",
        ["--duration", "10", "--connections", "50", "--size-mb", "1024"],
        _proxy,
        "tug-proxy req/s ÷ HAProxy req/s (same 3 pods)",
    ),
    Run(
        "controllers_rollout",
        "bench.controllers_cluster",
        ["rollout", "--replicas", "300", "--nodes", "30"],
        _rollout,
        "rolling update ÷ first creation (time, 300 pods)",
    ),
    Run(
        "rest",
        "bench.rest",
        ["--objects", "300", "--concurrency", "16"],
        _rest,
        "HTTP API creates/s ÷ gRPC creates/s (same server, objects, concurrency)",
    ),
    Run(
        "security",
        "bench.security",
        ["--objects", "500", "--concurrency", "16"],
        lambda text: _pick(
            text,
            ratio=r"ratio secure/insecure creates/s: ([\d.]+)",
            insecure_creates_per_s=r"^insecure\s+([\d.]+)",
            secure_creates_per_s=r"^secure\s+([\d.]+)",
        ),
        "secure API server creates/s ÷ insecure (TLS, client certs, RBAC, audit, encryption)",
    ),
    Run(
        "priority_fairness",
        "bench.priority_fairness",
        ["--flood", "32", "--seconds", "12", "--limit", "4"],
        lambda text: _pick(
            text,
            ratio=r"bystander's p99 under the flood, .*? ratio: ([\d.]+)",
            ratio_node_p99=r"node Lease renewal p99, .*? ratio: ([\d.]+)",
            ratio_flood_lists=r"flood lists/s, .*? ratio: ([\d.]+)",
        ),
        "a bystander's p99 under one user's flood, inflight cap ÷ API Priority and Fairness",
    ),
    Run(
        "watch_fanout",
        "bench.watch_fanout",
        ["--watchers", "300", "--objects", "300"],
        lambda text: _pick(
            text,
            ratio=r"ratio cache/no cache creates/s: ([\d.]+)",
            ratio_cpu_per_create=r"ratio cache/no cache API CPU per create: ([\d.]+)",
            ratio_all_heard=r"ratio cache/no cache time until all heard: ([\d.]+)",
        ),
        "creates/s under 300 watchers, watch cache ÷ an etcd watch per watcher",
    ),
    Run(
        "scale",
        "bench.scale",
        ["--nodes", "1000", "--replicas", "3000", "--processes", "4"],
        lambda text: _scale(text, "pods_per_second"),
        "pods/s, 3,000 replicas on 1,000 simulated nodes (goal 150)",
    ),
    Run(
        "scale_5000",
        "bench.scale",
        ["--nodes", "5000", "--replicas", "3000", "--processes", "4", "--limit", "300"],
        lambda text: _scale(text, "false_not_ready"),
        "false NotReady nodes, 5,000 simulated nodes, 3,000 replicas (goal 0)",
    ),
    Run(
        "hosts",
        "bench.hosts",
        ["--pods", "30"],
        _hosts,
        "container nodes ÷ loopback processes (30 pods to Running)",
    ),
]
"""The benchmarks and their arguments, sized to finish in minutes on two cores."""


def discover() -> list[Run]:
    """RUNS, plus any benchmark in bench/ that has no entry yet (run with no arguments)."""
    known = {r.module for r in RUNS}
    found = list(RUNS)
    for path in sorted(HERE.iterdir()):
        if path.name.startswith(("_", ".")) or path.name in ("run.py", "results"):
            continue
        if path.suffix == ".py":
            module = f"bench.{path.stem}"
        elif path.is_dir() and (path / "__main__.py").exists():
            module = f"bench.{path.name}"
        else:
            continue
        if module not in known:
            found.append(Run(module.removeprefix("bench."), module))
    return found


_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d[ T][\d:.]+Z? \[|\{\")")
"""A log line of a component the benchmark runs in-process (console or JSON)."""


def figures_text(out: str) -> str:
    """The benchmark's own printed lines, without the log lines of what it runs."""
    return "\n".join(line for line in out.splitlines() if not _LOG_LINE.match(line))


def run_one(run: Run) -> dict[str, object]:
    """Run a benchmark to completion (or LIMIT); its result record."""
    argv = [sys.executable, "-m", run.module, *run.args]
    print(f"== {run.name}: {' '.join(argv[1:])}", flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=LIMIT,
            check=False,
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as e:
        code = -1
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode()
        err = f"stopped after {LIMIT:g} s"
    seconds = time.monotonic() - started
    printed = figures_text(out)
    if printed:
        print(printed, flush=True)
    if code != 0:
        print(f"   failed ({code}): {err.strip().splitlines()[-1:] or ''}", flush=True)
    return {
        "name": run.name,
        "command": argv[1:],
        "returncode": code,
        "seconds": round(seconds, 1),
        "headline": run.headline,
        "figures": run.parse(printed) if code == 0 else {},
        "output": printed.splitlines(),
        "errors": err.splitlines()[-20:] if code != 0 else [],
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def chart(results: list[dict[str, object]], path: Path) -> bool:
    """A bar chart of every headline ratio; False when there is none (or no matplotlib)."""
    bars = [
        (str(r["headline"] or r["name"]), float(figs["ratio"]))
        for r in results
        if isinstance(figs := r["figures"], dict) and "ratio" in figs
    ]
    if not bars:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[dev]'): no chart")
        return False
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(bars) + 1.5))
    labels, values = zip(*bars, strict=True)
    ax.barh(labels, values, color="#3b7dd8")
    ax.axvline(1.0, color="#888", linestyle="--", linewidth=1)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.2f}", va="center")
    ax.set_xlabel("ratio to its baseline (1.0 = the baseline; see bench/results/README.md)")
    ax.set_title("Tugboat benchmarks: headline ratios (one run, this machine)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def table(results: list[dict[str, object]]) -> str:
    """The summary: one line per benchmark."""
    lines = [f"{'benchmark':<24}{'status':<8}{'seconds':>8}  {'ratio':>7}  headline"]
    for r in results:
        figs = r["figures"] if isinstance(r["figures"], dict) else {}
        ratio = f"{figs['ratio']:.2f}" if "ratio" in figs else "-"
        status = "ok" if r["returncode"] == 0 else "FAILED"
        lines.append(
            f"{r['name']:<24}{status:<8}{r['seconds']:>8}  {ratio:>7}  {r['headline'] or ''}"
        )
    return "\n".join(lines)


def main() -> None:
    """Run the benchmarks, write their results, the chart and the table."""
    p = argparse.ArgumentParser(description="Run every benchmark in bench/.")
    p.add_argument("--only", nargs="*", default=[], help="result names to run")
    p.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    a = p.parse_args()
    runs = discover()
    if a.list:
        for r in runs:
            print(f"{r.name:<24}python -m {r.module} {' '.join(r.args)}")
        return
    unknown = set(a.only) - {r.name for r in runs}
    if unknown:
        p.error(f"--only: no benchmark named {', '.join(sorted(unknown))}")
    chosen = [r for r in runs if not a.only or r.name in a.only]
    RESULTS.mkdir(exist_ok=True)
    results = []
    for r in chosen:
        result = run_one(r)
        (RESULTS / f"{r.name}.json").write_text(json.dumps(result, indent=2) + "\n")
        results.append(result)
    # The chart and the table cover every result on file, so `--only NAME` refreshes one.
    known = {r.name for r in runs}
    on_file = [
        json.loads(path.read_text())
        for path in sorted(RESULTS.glob("*.json"))
        if path.stem in known
    ]
    order = [r.name for r in runs]
    on_file.sort(key=lambda r: order.index(r["name"]))
    drawn = chart(on_file, RESULTS / "ratios.png")
    print()
    print(table(on_file))
    if drawn:
        print(f"\nchart: {RESULTS / 'ratios.png'}; figures: {RESULTS}/<name>.json")
    if any(r["returncode"] != 0 for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()

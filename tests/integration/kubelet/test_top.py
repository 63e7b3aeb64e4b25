"""`tug top` through a real API server to kubelets' node agents (simulated nodes).

The fake runtime's containers use a millicore and 4 MiB each, so the figures are known;
the Docker checks (a busy loop near one core) are in test_stats_docker.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kubelet.runtime.fake import FakeRuntime
from tests.integration.cli.tugrun import run_tug
from tests.integration.kubelet.pods import container, pod, running, wait_for_pod
from tests.support.waiting import eventually


@pytest.fixture(autouse=True)
def tug_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUG_HOME", str(tmp_path / "tug-home"))
    monkeypatch.setenv("TUGCONFIG", str(tmp_path / "tug-home" / "config"))


@pytest.fixture
async def two_nodes(api, kubelets):
    names = [f"top-{uuid.uuid4().hex[:6]}-{i}" for i in range(2)]
    for name in names:
        await kubelets.start(name, FakeRuntime(name), stats_period=0.5)
    await api.create(pod("web", names[0], container("nginx", "x"), container("sidecar", "y")))
    await api.create(pod("db", names[1], container("postgres", "z")))
    for name in ("web", "db"):
        await wait_for_pod(api, name, running)
    return names


async def tug_lines(apiserver, *argv: str) -> list[str]:
    result = await run_tug(*argv, "--server", apiserver.endpoint)
    assert result.code == 0, result.err
    return result.out.splitlines()


async def test_top_pods_prints_kubectl_columns_for_every_pod(apiserver, two_nodes):
    async def both() -> list[str] | None:
        lines = await tug_lines(apiserver, "top", "pods")
        return lines if len(lines) == 3 else None

    lines = await eventually(both, timeout=20, what="both pods in tug top pods")
    assert lines[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    rows = [line.split() for line in lines[1:]]
    # A millicore per container, measured over a window whose ends jitter by microseconds,
    # rounded up to whole millicores as kubectl does.
    assert [(name, memory) for name, _, memory in rows] == [("db", "4Mi"), ("web", "8Mi")]
    assert rows[0][1] in ("1m", "2m") and rows[1][1] in ("2m", "3m"), rows


async def test_top_pods_containers_and_all_namespaces(apiserver, two_nodes):
    async def every_container() -> list[str] | None:
        lines = await tug_lines(apiserver, "top", "pods", "-A", "--containers")
        return lines if len(lines) == 4 else None

    # Each node's agent reports on its own period, so one pod can have metrics before the other.
    lines = await eventually(every_container, timeout=20, what="three containers in tug top")
    assert lines[0].split() == ["NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    rows = [line.split()[:3] for line in lines[1:]]
    assert rows == [
        ["default", "db", "postgres"],
        ["default", "web", "nginx"],
        ["default", "web", "sidecar"],
    ]


async def test_top_nodes_prints_usage_and_share_of_allocatable(apiserver, two_nodes):
    async def known() -> list[str] | None:
        lines = await tug_lines(apiserver, "top", "nodes", *two_nodes[:1])
        return lines if "<unknown>" not in lines[-1] else None

    lines = await eventually(known, timeout=20, what="node metrics")
    assert lines[0].split() == ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    name, cpu, cpu_pct, memory, memory_pct = lines[1].split()
    assert name == two_nodes[0]
    assert cpu.endswith("m") and cpu_pct.endswith("%")
    # The fake node: 256 MiB of system plus 4 MiB per container (sandbox included), of 8 GiB.
    assert memory == "268Mi" and memory_pct == "3%"


async def test_top_of_a_pod_without_metrics_says_so(apiserver, api, kubelets):
    name = f"top-{uuid.uuid4().hex[:6]}"
    await kubelets.start(name, FakeRuntime(name), stats_period=0)
    await api.create(pod("quiet", name, container("main", "x")))
    await wait_for_pod(api, "quiet", running)
    result = await run_tug("top", "pod", "quiet", "--server", apiserver.endpoint)
    assert result.code == 1
    assert "error: metrics not available yet" in result.err

"""Stopping a cluster's processes: tier by tier in reverse start order, a tier at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cli.cluster import processes
from cli.cluster.processes import Record, start_time
from tests.support.waiting import eventually

# On SIGTERM: say so, take a moment, say it is leaving, exit.
SLOW_TO_STOP = (
    'trap \'echo "$0 term" >> "$1"; sleep 0.3; echo "$0 gone" >> "$1"; exit 0\' TERM; '
    'echo "$0 ready" >> "$1"; while :; do sleep 0.05; done'
)
NAMES = ("kubelet-0", "kubelet-1", "proxy-0", "proxy-1", "proxy-2")


async def test_each_tier_stops_together_and_the_later_tier_first(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    journal.touch()
    started: list[tuple[asyncio.subprocess.Process, Record]] = []

    def said(what: str = "") -> list[str]:
        return [s for s in journal.read_text().splitlines() if s.endswith(what)]

    try:
        for name in NAMES:
            proc = await asyncio.create_subprocess_exec(
                "sh", "-c", SLOW_TO_STOP, name, str(journal)
            )
            record = Record(name, proc.pid, start_time(proc.pid), [], str(tmp_path / name))
            started.append((proc, record))
        await eventually(lambda: len(said("ready")) == len(NAMES), what="every trap set")

        left = await processes.stop_all([r for _, r in started], grace=5)

        assert left == []
        lines = said()
        at = {line: i for i, line in enumerate(lines)}
        proxies = [n for n in NAMES if n.startswith("proxy")]
        kubelets = [n for n in NAMES if n.startswith("kubelet")]
        # Every proxy was asked before any had gone: they stopped together.
        assert max(at[f"{n} term"] for n in proxies) < min(at[f"{n} gone"] for n in proxies), lines
        # The kubelets (started first) were asked only once every proxy had gone.
        assert max(at[f"{n} gone"] for n in proxies) < min(at[f"{n} term"] for n in kubelets), lines
    finally:
        for proc, _ in started:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()

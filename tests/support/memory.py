"""A process's resident memory, as the soak and the benchmarks print it.

Read from /proc/PID/status (VmRSS), which needs no dependency and works for any process
the run started; a process that is gone reads as 0 so a report never fails on it.
"""

from __future__ import annotations

from pathlib import Path


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid` in MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0

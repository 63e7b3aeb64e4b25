"""A process's CPU time, as the benchmarks print it.

Read from /proc/PID/stat (user and system time, in clock ticks), which needs no
dependency and works for any process the run started; a process that is gone reads as 0
so a report never fails on it. Two readings around a phase give the share of one core the
process used in it, which is what tells a starved process from a slow one.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time process `pid` has used so far, in seconds; 0 when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may hold spaces; the fields after it are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND

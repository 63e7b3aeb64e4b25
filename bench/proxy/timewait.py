"""Waiting out TIME_WAIT between the proxy benchmark's phases.

A phase of a few thousand connections a second leaves tens of thousands of sockets in
TIME_WAIT for a minute (wrk often closes first), and a connect() in the same network
namespace then searches a taken port range, whatever address it goes to. In a run
started within a minute of another, wrk burned both cores for a fifth of the requests
per second, and the proxy's own connects to the pods slowed alike: whichever path came
after a busy one was measured against the kernel's port search, not against the others.
So every phase starts once the namespace it connects from holds few sockets in
TIME_WAIT. The tables are read with a command prefix (`ip netns exec NS`) for a phase
that runs in a namespace of its own.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

__all__ = ["settle", "time_waits"]

TIME_WAIT = "06"
"""The state column of /proc/net/tcp for a socket in TIME_WAIT."""
TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


def time_waits(prefix: tuple[str, ...] = ()) -> int:
    """TCP sockets in TIME_WAIT in this network namespace, or the one `prefix` enters."""
    if prefix:
        text = subprocess.run(
            [*prefix, "cat", *TABLES], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    else:
        text = "".join(Path(table).read_text() for table in TABLES)
    return sum(1 for line in text.splitlines() if line.split()[3:4] == [TIME_WAIT])


def settle(prefix: tuple[str, ...] = (), limit: float = 75.0) -> None:
    """Wait (up to `limit` s) until fewer sockets are in TIME_WAIT than a tenth of the
    ephemeral port range; say so when that took a second or more."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    start = time.monotonic()
    waits = time_waits(prefix)
    while waits > (high - low) // 10 and time.monotonic() - start < limit:
        time.sleep(1)
        waits = time_waits(prefix)
    took = time.monotonic() - start
    if took >= 1:
        print(f"  waited {took:.0f} s for TIME_WAIT sockets to expire ({waits} left)", flush=True)

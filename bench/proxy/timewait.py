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

The pods' namespaces are waited for too. The pods' servers close each connection first, so
the pods, not the client, hold the TIME_WAIT sockets of every connection made to them:
18,000 to 26,000 each after one lab phase, while the client's namespace held a few
thousand. A phase that starts while they are there is measured against them, and the
two lab paths set up their connections differently (per 10-second phase, the NodePort
path's client retransmitted about 5,600 SYNs and reset about 4,900 times, the direct
path's about 1,050 and 10), so a busy phase's leftovers need not cost the next path what
they would cost the other.
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


def settle(*prefixes: tuple[str, ...], limit: float = 75.0, most: int | None = None) -> int:
    """Wait (up to `limit` s) until each namespace that `prefixes` enter (none: this one)
    holds at most `most` sockets in TIME_WAIT (default: a tenth of the ephemeral port
    range); say so when that took a second or more. The most any of them still holds."""
    if most is None:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        most = (high - low) // 10
    spaces = prefixes or ((),)
    start = time.monotonic()
    waits = max(time_waits(p) for p in spaces)
    while waits > most and time.monotonic() - start < limit:
        time.sleep(1)
        waits = max(time_waits(p) for p in spaces)
    took = time.monotonic() - start
    if took >= 1:
        print(f"  waited {took:.0f} s for TIME_WAIT sockets to expire ({waits} left)", flush=True)
    return waits

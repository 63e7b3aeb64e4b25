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

The pods' namespaces are waited for too. busybox httpd closes each connection first, so
the pods hold the TIME_WAIT sockets of every connection made to them (18,000 to 26,000 each
after one lab phase). A client that comes back to a pod from a port still in one of
them meets that socket: its SYN is answered with an ACK, it resets and sends the SYN
again a second later, and the phase's p99 becomes that second. A path that reaches the
pods from fresh source ports (the nftables mode masquerades from random ones) dodges
that, so whichever path came after a busy phase was favoured or penalised by the pods'
leftovers, not by its own cost.
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

"""Ways of reaching the same pods measured in turns, each way's figure its median.

One 10-second wrk run of a connection per request varied by a third from run to run on
this machine, and every run leaves the kernel state the next one starts from (TIME_WAIT
sockets, connection tracking: timewait.py). So each way is measured once per round, the
order turned by one each round so that no way always follows the same other, and each
way's requests/s and p99 are the medians of its rounds. bench.proxy's userspace paths and
its nftables lab are both measured this way.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

__all__ = ["Measured", "in_turns"]

Measured = tuple[float, float, str]
"""One run: requests per second, p99 in ms, and a remark for its line ("" for none)."""


def in_turns(
    names: Sequence[str], count: int, measure: Callable[[str], Measured]
) -> dict[str, tuple[float, float]]:
    """`measure` every name `count` times, the order turned each round, a line per run;
    per name, the median requests/s and the median p99."""
    done: dict[str, list[Measured]] = {name: [] for name in names}
    for number in range(count):
        shift = number % len(names)
        for name in [*names[shift:], *names[:shift]]:
            rate, p99, remark = got = measure(name)
            done[name].append(got)
            print(
                f"  round {number + 1} {name:10s} {rate:8.0f} req/s   p99 {p99:8.2f} ms"
                + (f"   {remark}" if remark else ""),
                flush=True,
            )
    return {
        name: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        for name, runs in done.items()
    }

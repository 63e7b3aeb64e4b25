"""`tug` start-up: the time to run `tug version --client` (a command that asks no server)
and `tug get --help`, side by side with the same process importing every command module
(what each run paid before commands were imported lazily) and a bare interpreter.

    .venv/bin/python -m bench.cli_startup [--runs N]

Prints median wall times and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

EAGER = (
    "import importlib, cli.main as m\n"
    "for name in m.MODULES: importlib.import_module(name)\n"
    "import client.logs, client.api\n"
)


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, timeout=60)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=15)
    runs = p.parse_args().runs
    py = sys.executable
    bare = median_seconds([py, "-c", "pass"], runs)
    lazy = median_seconds([py, "-m", "cli.main", "version", "--client"], runs)
    helped = median_seconds([py, "-m", "cli.main", "get", "--help"], runs)
    eager = median_seconds([py, "-c", EAGER], runs)
    print(f"bare interpreter:            {bare:.3f} s")
    print(f"tug version --client:        {lazy:.3f} s")
    print(f"tug get --help:              {helped:.3f} s")
    print(f"every command module loaded: {eager:.3f} s")
    print(f"version --client ratio (lazy/eager): {lazy / eager:.2f}")
    print(f"get --help ratio (lazy/eager): {helped / eager:.2f}")


if __name__ == "__main__":
    main()

"""`tug version` and `tug cluster-info`: what this client is and which API servers answer."""

from __future__ import annotations

import argparse
import asyncio
from importlib import metadata
from typing import Any

from cli.invocation import Invocation


def client_version() -> str:
    """The installed tugboat package's version."""
    try:
        return metadata.version("tugboat")
    except metadata.PackageNotFoundError:
        return "unknown"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug version` and `tug cluster-info`."""
    v = sub.add_parser("version", parents=[common], help="client version and server health")
    v.add_argument("--client", action="store_true", help="the client version only")
    v.set_defaults(func=version)
    c = sub.add_parser("cluster-info", parents=[common], help="the API servers and their health")
    c.set_defaults(func=cluster_info)


async def _health(inv: Invocation) -> list[tuple[str, bool, str]]:
    from cli import health  # gRPC: only when a server is asked (see cli/main.py)

    endpoints = inv.endpoints()
    timeout = inv.timeout() or 2.0
    tls = inv.tls()
    results = await asyncio.gather(*(health.check(e, timeout, tls) for e in endpoints))
    return [(e, ok, text) for e, (ok, text) in zip(endpoints, results, strict=True)]


async def version(inv: Invocation) -> int:
    """`Client Version: v0.1.0`, then each API server's health."""
    inv.out(f"Client Version: v{client_version()}")
    if inv.args.client:
        return 0
    checked = await _health(inv)
    for endpoint, _, text in checked:
        inv.out(f"Server {endpoint}: {text}")
    if not any(ok for _, ok, _ in checked):
        names = ",".join(e for e, _, _ in checked)
        inv.err(f"error: cannot reach any API server ({names})")
        return 1
    return 0


async def cluster_info(inv: Invocation) -> int:
    """Each API server and whether it answers the gRPC health check."""
    checked = await _health(inv)
    for endpoint, ok, text in checked:
        state = "is running" if ok else "is not answering"
        inv.out(f"Tugboat API server {state} at {endpoint} ({text})")
    if not any(ok for _, ok, _ in checked):
        names = ",".join(e for e, _, _ in checked)
        inv.err(f"error: cannot reach any API server ({names})")
        return 1
    from cli import leaders

    async with inv.client() as api:
        for line in await leaders.leader_lines(api):
            inv.out(line)
    return 0

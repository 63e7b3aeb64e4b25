"""API server latency and throughput, with etcd's own put rate measured side by side.

    .venv/bin/python -m bench.apiserver_latency [--objects 500] [--concurrency 16]

Starts its own etcd and one `tug-apiserver` process (a separate process, so the
benchmark's client does not share the server's event loop), then measures through one
API server: create, get and list latency (p50, p99) and creates per second; then creates,
gets and watch events per second through 1, 2 and 3 API server processes on the same
etcd; and, in the same run against the same etcd, raw puts per second through aetcd, the
client library the API server itself uses. Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import aetcd

from client.api import ApiClient
from proto import core_pb2
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import start_etcd


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _configmap(name: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name, cm.metadata.namespace = name, "default"
    cm.data["payload"] = "x" * 256
    return cm


async def _timed_all(
    calls: list[Callable[[], Awaitable[object]]], concurrency: int
) -> tuple[list[float], float]:
    """Run calls with bounded concurrency; per-call latencies and the wall time."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    wall_start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in calls))
    return latencies, time.perf_counter() - wall_start


def _summary(name: str, latencies: list[float], wall: float) -> dict[str, float]:
    return {
        f"{name}_p50_ms": statistics.median(latencies) * 1000,
        f"{name}_p99_ms": _percentile(latencies, 0.99) * 1000,
        f"{name}_per_second": len(latencies) / wall,
    }


SERVER_COUNTS = (1, 2, 3)


async def _through_servers(
    etcd_endpoints: list[str], n: int, objects: int, concurrency: int
) -> dict[str, float]:
    """Creates/s and gets/s with the calls spread over `n` API server processes on one
    etcd (a client per server, the same total concurrency), and how fast one watcher
    hears the creates (events/s from the first create to the last event)."""
    servers = []
    try:
        for i in range(n):
            servers.append(ApiServerProcess.start(etcd_endpoints, name=f"bench-{n}-{i}"))
        clients = [ApiClient([s.endpoint]) for s in servers]
        try:
            names = [f"s{n}-cm-{i}" for i in range(objects)]
            start = (await clients[0].list("configmaps", "default")).resource_version
            heard = asyncio.Event()
            last_event = 0.0

            async def watch() -> None:
                nonlocal last_event
                count = 0
                async for _ in clients[-1].watch("configmaps", "default", resource_version=start):
                    count += 1
                    if count == objects:
                        last_event = time.perf_counter()
                        heard.set()
                        return

            watcher = asyncio.create_task(watch())
            first = time.perf_counter()
            _, create_wall = await _timed_all(
                [partial(clients[i % n].create, _configmap(name)) for i, name in enumerate(names)],
                concurrency,
            )
            try:
                async with asyncio.timeout(120):
                    await heard.wait()
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            _, get_wall = await _timed_all(
                [
                    partial(clients[i % n].get, "configmaps", "default", name)
                    for i, name in enumerate(names)
                ],
                concurrency,
            )
            return {
                "creates_per_second": objects / create_wall,
                "gets_per_second": objects / get_wall,
                "watch_events_per_second": objects / (last_event - first),
            }
        finally:
            for c in clients:
                await c.close()
    finally:
        for server in servers:
            server.stop()


async def run(objects: int, concurrency: int) -> dict[str, float]:
    """Measure; return the figures by name."""
    etcd = start_etcd(1)
    server = None
    try:
        server = ApiServerProcess.start(etcd.endpoints, name="bench-apiserver")
        figures: dict[str, float] = {}
        async with ApiClient([server.endpoint]) as client:
            lat, wall = await _timed_all(
                [partial(client.create, _configmap(f"cm-{i}")) for i in range(objects)],
                concurrency,
            )
            figures |= _summary("create", lat, wall)
            lat, wall = await _timed_all(
                [partial(client.get, "configmaps", "default", f"cm-{i}") for i in range(objects)],
                concurrency,
            )
            figures |= _summary("get", lat, wall)
            lists = max(10, objects // 25)
            lat, wall = await _timed_all(
                [partial(client.list, "configmaps", "default") for _ in range(lists)], concurrency
            )
            figures |= _summary(f"list{objects}", lat, wall)

        for n in SERVER_COUNTS:
            for name, value in (
                await _through_servers(etcd.endpoints, n, objects, concurrency)
            ).items():
                figures[f"servers{n}_{name}"] = value

        host, port = etcd.endpoint.split(":")
        payload = _configmap("x").SerializeToString()
        async with aetcd.Client(host=host, port=int(port)) as etcd_client:
            lat, wall = await _timed_all(
                [partial(etcd_client.put, b"/bench/raw/%d" % i, payload) for i in range(objects)],
                concurrency,
            )
            figures |= _summary("etcd_put", lat, wall)
        figures["create_rate_vs_etcd_put_rate"] = (
            figures["create_per_second"] / figures["etcd_put_per_second"]
        )
        return figures
    finally:
        if server is not None:
            server.stop()
        etcd.stop()


def _print(figures: dict[str, float], objects: int, concurrency: int) -> None:
    print(f"API server latency: {objects} ConfigMaps, concurrency {concurrency}, one API server")
    print(f"{'operation':<16}{'p50 ms':>10}{'p99 ms':>10}{'per second':>14}")
    for op in ("create", "get", f"list{objects}", "etcd_put"):
        print(
            f"{op:<16}{figures[f'{op}_p50_ms']:>10.2f}{figures[f'{op}_p99_ms']:>10.2f}"
            f"{figures[f'{op}_per_second']:>14.1f}"
        )
    print(
        "creates/s through the API server vs raw etcd puts/s through aetcd: "
        f"{figures['create_rate_vs_etcd_put_rate']:.2f}x"
    )
    print(f"Through N API server processes on the one etcd (concurrency {concurrency} in all):")
    print(f"{'servers':<10}{'creates/s':>12}{'gets/s':>12}{'watch events/s':>16}")
    for n in SERVER_COUNTS:
        print(
            f"{n:<10}{figures[f'servers{n}_creates_per_second']:>12.1f}"
            f"{figures[f'servers{n}_gets_per_second']:>12.1f}"
            f"{figures[f'servers{n}_watch_events_per_second']:>16.1f}"
        )
    for n in SERVER_COUNTS[1:]:
        ratio = figures[f"servers{n}_creates_per_second"] / figures["servers1_creates_per_second"]
        print(f"ratio creates/s {n} servers / 1 server: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = asyncio.run(run(args.objects, args.concurrency))
    _print(figures, args.objects, args.concurrency)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

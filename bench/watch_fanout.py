"""Creates under many watchers, with the watch cache and without it, side by side.

    .venv/bin/python -m bench.watch_fanout [--watchers 300] [--objects 300] [--concurrency 16]

Each mode gets its own etcd and one `tug-apiserver` process (`--no-watch-cache` for the
old path: an etcd watch per API watch, each change decoded per watcher). The benchmark
opens the watchers on ConfigMaps, then makes the objects and measures: creates per
second, the API server's CPU time per create and per create and watcher (from
/proc/PID/stat), the time until every watcher has heard every create, the etcd
watches open (etcd's own metric) and the API server's resident memory at the end.
Prints figures and the ratios cache ÷ no cache; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.request
from functools import partial
from pathlib import Path
from typing import Any

import grpc

from bench.apiserver_latency import _configmap, _timed_all
from client.api import ApiClient
from proto import api_pb2, api_pb2_grpc
from tests.support.apiserver import ApiServerProcess
from tests.support.cpu import cpu_seconds
from tests.support.etcd import EtcdCluster, start_etcd
from tests.support.memory import rss_mib

CHANNELS = 8
"""Watch streams are spread over this many connections, as many clients would be."""


def _etcd_watchers(etcd: EtcdCluster) -> int:
    with urllib.request.urlopen(f"http://{etcd.endpoint}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("etcd_debugging_mvcc_watcher_total "):
                return int(float(line.split()[1]))
    return -1


async def _measure(cache: bool, watchers: int, objects: int, concurrency: int) -> dict[str, float]:
    etcd = start_etcd(1)
    server = None
    channels: list[grpc.aio.Channel] = []
    try:
        server = ApiServerProcess.start(
            etcd.endpoints,
            name="bench-fanout",
            extra_args=[] if cache else ["--no-watch-cache"],
        )
        assert server.process is not None
        channels = [grpc.aio.insecure_channel(server.endpoint) for _ in range(CHANNELS)]
        stubs: list[Any] = [api_pb2_grpc.ResourcesStub(c) for c in channels]  # type: ignore[no-untyped-call]
        first = _configmap("first")
        await stubs[0].Create(
            api_pb2.CreateRequest(
                resource="configmaps", namespace="default", object=first.SerializeToString()
            )
        )
        listed = await stubs[0].List(api_pb2.ListRequest(resource="configmaps"))
        since = listed.resource_version
        heard = [0] * watchers
        everyone = asyncio.Event()
        done = 0

        async def follow(i: int) -> None:
            nonlocal done
            stream = stubs[i % CHANNELS].Watch(
                api_pb2.WatchRequest(resource="configmaps", resource_version=since)
            )
            async for _ in stream:
                heard[i] += 1
                if heard[i] == objects:
                    done += 1
                    if done == watchers:
                        everyone.set()
                    return

        tasks = [asyncio.create_task(follow(i)) for i in range(watchers)]
        for _ in range(300):  # up to a minute for every watch to be open in etcd
            if _etcd_watchers(etcd) >= (1 if cache else watchers):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # let the watch streams settle before measuring
        cpu_before = cpu_seconds(server.process.pid)
        async with ApiClient([server.endpoint]) as client:
            started = time.perf_counter()
            _, wall = await _timed_all(
                [partial(client.create, _configmap(f"cm-{i}")) for i in range(objects)],
                concurrency,
            )
            try:
                async with asyncio.timeout(300):
                    await everyone.wait()
            except TimeoutError:
                pass
            delivered = time.perf_counter() - started
        cpu = cpu_seconds(server.process.pid) - cpu_before
        rss = rss_mib(server.process.pid)
        open_watches = _etcd_watchers(etcd)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "creates_per_second": objects / wall,
            "all_heard_seconds": delivered,
            "watchers_done": float(done),
            "cpu_ms_per_create": cpu / objects * 1000,
            "cpu_us_per_create_and_watcher": cpu / objects / watchers * 1e6,
            "etcd_watches": float(open_watches),
            "apiserver_rss_mib": rss,
        }
    finally:
        for c in channels:
            await c.close(None)
        if server is not None:
            server.stop()
        etcd.stop()


async def run(watchers: int, objects: int, concurrency: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    for mode, cache in (("cache", True), ("nocache", False)):
        for name, value in (await _measure(cache, watchers, objects, concurrency)).items():
            figures[f"{mode}_{name}"] = value
    figures["ratio_creates_per_second"] = (
        figures["cache_creates_per_second"] / figures["nocache_creates_per_second"]
    )
    figures["ratio_cpu_per_create"] = (
        figures["cache_cpu_ms_per_create"] / figures["nocache_cpu_ms_per_create"]
    )
    figures["ratio_all_heard_seconds"] = (
        figures["cache_all_heard_seconds"] / figures["nocache_all_heard_seconds"]
    )
    return figures


def _print(figures: dict[str, float], watchers: int, objects: int) -> None:
    print(f"Watch fan-out: {watchers} watchers of ConfigMaps, {objects} creates, one API server")
    rows = (
        ("creates/s", "creates_per_second", "{:.1f}"),
        ("all heard (s)", "all_heard_seconds", "{:.2f}"),
        ("watchers done", "watchers_done", "{:.0f}"),
        ("API CPU ms/create", "cpu_ms_per_create", "{:.2f}"),
        ("API CPU µs/create/watcher", "cpu_us_per_create_and_watcher", "{:.2f}"),
        ("etcd watches open", "etcd_watches", "{:.0f}"),
        ("API server RSS (MiB)", "apiserver_rss_mib", "{:.0f}"),
    )
    print(f"{'':<28}{'watch cache':>14}{'no cache':>14}")
    for label, key, fmt in rows:
        cache, nocache = figures[f"cache_{key}"], figures[f"nocache_{key}"]
        print(f"{label:<28}{fmt.format(cache):>14}{fmt.format(nocache):>14}")
    print(f"ratio cache/no cache creates/s: {figures['ratio_creates_per_second']:.2f}")
    print(f"ratio cache/no cache API CPU per create: {figures['ratio_cpu_per_create']:.2f}")
    print(f"ratio cache/no cache time until all heard: {figures['ratio_all_heard_seconds']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--watchers", type=int, default=300)
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = asyncio.run(run(args.watchers, args.objects, args.concurrency))
    _print(figures, args.watchers, args.objects)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

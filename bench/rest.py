"""The HTTP API against gRPC: the same API server process, objects and concurrency.

    .venv/bin/python -m bench.rest [--objects 300] [--concurrency 16]

One etcd, one `tug-apiserver` process; each front-end in turn:
- creates: `--objects` ConfigMaps at `--concurrency`, creates/s;
- lists: the whole collection, `--concurrency` at a time, p50 latency;
- watch: a watch is open while `--objects` ConfigMaps are created through gRPC, events/s
  from the first create to the last event received.

Then each ratio HTTP ÷ gRPC (goal ≥ 0.7 for throughput; latency the other way round).
The HTTP client is aiohttp with JSON, as kubectl and the official clients speak it; the
gRPC client is Tugboat's own. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

import aiohttp

from client.api import ApiClient
from proto import core_pb2
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import start_etcd


def _configmap(name: str, namespace: str) -> core_pb2.ConfigMap:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name = name
    cm.metadata.namespace = namespace
    cm.data["k"] = "v" * 64
    return cm


def _configmap_json(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": HTTP_NS},
        "data": {"k": "v" * 64},
    }


GRPC_NS, HTTP_NS = "bench-grpc", "bench-http"
"""Each front-end's objects in a namespace of their own, so each lists the same number."""


async def _namespace(api: ApiClient, name: str) -> None:
    ns = core_pb2.Namespace(api_version="v1", kind="Namespace")
    ns.metadata.name = name
    await api.create(ns)


async def _all(calls: list[Callable[[], Awaitable[object]]], concurrency: int) -> list[float]:
    """Run the calls `concurrency` at a time; each one's latency."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            began = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(one(c) for c in calls))
    return latencies


async def _watch_rate(
    api: ApiClient,
    events: AsyncIterator[object],
    namespace: str,
    prefix: str,
    objects: int,
    concurrency: int,
) -> float:
    """Events/s of `events` while `objects` ConfigMaps are created, from the first create to
    the last event received. The writer is always gRPC (`api`), so that of the two runs
    only the watch's front-end differs."""
    done = asyncio.Event()

    async def follow() -> None:
        got = 0
        async for _ in events:
            got += 1
            if got == objects:
                done.set()
                return

    watching = asyncio.create_task(follow())
    began = time.perf_counter()
    await _all(
        [partial(api.create, _configmap(f"{prefix}-{i}", namespace)) for i in range(objects)],
        concurrency,
    )
    await asyncio.wait_for(done.wait(), 120)  # noqa: TID251 - a benchmark's own bound
    rate = objects / (time.perf_counter() - began)
    watching.cancel()
    return rate


async def _grpc(server: ApiServerProcess, objects: int, concurrency: int) -> dict[str, float]:
    out: dict[str, float] = {}
    async with ApiClient([server.endpoint]) as api:
        await _namespace(api, GRPC_NS)
        began = time.perf_counter()
        await _all(
            [partial(api.create, _configmap(f"g-{i}", GRPC_NS)) for i in range(objects)],
            concurrency,
        )
        out["creates_per_s"] = objects / (time.perf_counter() - began)
        lists = await _all(
            [partial(api.list, "configmaps", GRPC_NS) for _ in range(30)], concurrency
        )
        out["list_p50_ms"] = statistics.median(lists) * 1000
        listed = await api.list("configmaps", GRPC_NS)
        events = api.watch("configmaps", GRPC_NS, resource_version=listed.resource_version)
        out["watch_events_per_s"] = await _watch_rate(
            api, events, GRPC_NS, "gw", objects, concurrency
        )
    return out


async def _http(server: ApiServerProcess, objects: int, concurrency: int) -> dict[str, float]:
    out: dict[str, float] = {}
    base = f"http://127.0.0.1:{server.http_port}/api/v1/namespaces/{HTTP_NS}/configmaps"
    connector = aiohttp.TCPConnector(limit=concurrency + 2)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        ApiClient([server.endpoint]) as api,
    ):
        await _namespace(api, HTTP_NS)

        async def create(name: str) -> None:
            async with session.post(base, json=_configmap_json(name)) as r:
                assert r.status == 201, await r.text()
                await r.read()

        async def list_all() -> None:
            async with session.get(base) as r:
                assert r.status == 200
                json.loads(await r.read())

        began = time.perf_counter()
        await _all([partial(create, f"h-{i}") for i in range(objects)], concurrency)
        out["creates_per_s"] = objects / (time.perf_counter() - began)
        lists = await _all([list_all for _ in range(30)], concurrency)
        out["list_p50_ms"] = statistics.median(lists) * 1000
        async with session.get(base) as r:
            since = json.loads(await r.read())["metadata"]["resourceVersion"]

        async def events() -> AsyncIterator[object]:
            url = f"{base}?watch=1&resourceVersion={since}"
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=None)) as r:
                async for line in r.content:
                    if line.strip():
                        yield json.loads(line)

        out["watch_events_per_s"] = await _watch_rate(
            api, events(), HTTP_NS, "hw", objects, concurrency
        )
    return out


async def run(objects: int, concurrency: int) -> dict[str, dict[str, float]]:
    etcd = start_etcd(1)
    server = None
    try:
        server = ApiServerProcess.start(etcd.endpoints, name="bench-rest")
        return {
            "grpc": await _grpc(server, objects, concurrency),
            "http": await _http(server, objects, concurrency),
        }
    finally:
        if server is not None:
            server.stop()
        etcd.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    figures = asyncio.run(run(args.objects, args.concurrency))
    grpc_, http = figures["grpc"], figures["http"]
    print(f"HTTP vs gRPC: {args.objects} ConfigMaps, concurrency {args.concurrency}")
    print(f"{'figure':<20}{'gRPC':>10}{'HTTP':>10}")
    for key in ("creates_per_s", "list_p50_ms", "watch_events_per_s"):
        print(f"{key:<20}{grpc_[key]:>10.1f}{http[key]:>10.1f}")
    print(f"ratio http/grpc creates/s: {http['creates_per_s'] / grpc_['creates_per_s']:.2f}")
    print(f"ratio grpc/http list latency: {grpc_['list_p50_ms'] / http['list_p50_ms']:.2f}")
    print(
        "ratio http/grpc watch events/s: "
        f"{http['watch_events_per_s'] / grpc_['watch_events_per_s']:.2f}"
    )


if __name__ == "__main__":
    main()

"""Bound-to-Running for 30 pods on one kubelet, against 30 `docker run`s, in one run.

    .venv/bin/python -m bench.kubelet_start [--pods 30]

Starts its own etcd, an in-process API server and an in-process kubelet on Docker;
prints figures and the ratio, asserts nothing. Every container it makes is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import docker

from client.api import ApiClient
from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.runtime.docker import DockerRuntime
from kubelet.runtime.interface import LABEL_NODE
from proto import core_pb2
from tests.support.apiserver import running_apiserver
from tests.support.etcd import start_etcd
from tests.support.ports import free_port

IMAGE = "busybox:1.35"
BENCH_LABEL = "io.tugboat.bench"


def _pod(name: str, node: str) -> core_pb2.Pod:
    p = core_pb2.Pod(api_version="v1", kind="Pod")
    p.metadata.name, p.metadata.namespace = name, "default"
    p.spec.node_name = node
    p.spec.termination_grace_period_seconds = 0
    p.spec.containers.add(name="main", image=IMAGE, command=["sleep", "3600"])
    return p


async def kubelet_run(api: ApiClient, node: str, count: int) -> list[float]:
    """Create `count` bound pods at once; seconds from create to Running for each."""
    created: dict[str, float] = {}
    running: dict[str, float] = {}
    for i in range(count):
        name = f"bench-{i}"
        created[name] = time.monotonic()
        await api.create(_pod(name, node))
    deadline = time.monotonic() + 300
    while len(running) < count and time.monotonic() < deadline:
        listed = await api.list("pods", "default")
        now = time.monotonic()
        for p in listed.items:
            assert isinstance(p, core_pb2.Pod)
            if p.status.phase == "Running" and p.metadata.name not in running:
                running[p.metadata.name] = now
        await asyncio.sleep(0.05)
    return [running[n] - created[n] for n in running]


def docker_run(count: int, tag: str) -> float:
    """Seconds for `count` sequential `docker run -d` of the same image."""
    started = time.monotonic()
    for _ in range(count):
        subprocess.run(
            ["docker", "run", "-d", "--label", f"{BENCH_LABEL}={tag}", IMAGE, "sleep", "3600"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return time.monotonic() - started


def remove_by_label(label: str) -> None:
    client = docker.from_env()
    try:
        for c in client.api.containers(all=True, filters={"label": [label]}):
            client.api.remove_container(c["Id"], force=True)
    finally:
        client.close()


async def main(count: int) -> None:
    node = f"bench-{uuid.uuid4().hex[:6]}"
    tag = uuid.uuid4().hex[:8]
    etcd = start_etcd(1)
    try:
        async with running_apiserver(etcd.endpoints, http=False) as server:
            api = ApiClient([server.endpoint])
            with tempfile.TemporaryDirectory() as root:
                config = KubeletConfig(
                    node_name=node,
                    address="127.0.0.1",
                    port=free_port("127.0.0.1"),
                    root_dir=Path(root),
                    relist_period=0.5,
                )
                kubelet = Kubelet(config, api, DockerRuntime(node))
                await kubelet.start()
                try:
                    t0 = time.monotonic()
                    times = await kubelet_run(api, node, count)
                    kubelet_total = time.monotonic() - t0
                finally:
                    await kubelet.stop()
                    await kubelet.runtime.close()
                    remove_by_label(f"{LABEL_NODE}={node}")
            await api.close()
        docker_total = docker_run(count, tag)
    finally:
        remove_by_label(f"{BENCH_LABEL}={tag}")
        etcd.stop()
    print(f"pods: {count} on one node ({len(times)} reached Running)")
    if times:
        print(
            f"kubelet bound->Running: total {kubelet_total:.2f}s, "
            f"per pod median {statistics.median(times):.2f}s, max {max(times):.2f}s"
        )
    print(f"docker run x{count} (sequential): total {docker_total:.2f}s")
    print(f"ratio kubelet/docker (total wall time): {kubelet_total / docker_total:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pods", type=int, default=30)
    asyncio.run(main(parser.parse_args().pods))

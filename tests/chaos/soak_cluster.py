"""A soak with no false alarms: `make soak` (not part of `make test`).

A 3-master, 3-etcd-member, 3-node cluster runs for TUG_SOAK_SECONDS (600 by default)
under a steady load:

- five clients creating and deleting ConfigMaps;
- three clients reading, creating, compare-and-setting and deleting eight registers,
  recorded, and a watcher following them (tests/chaos/registers.py);
- a rolling restart of a Deployment every minute;
- HTTP traffic through its NodePort Service;
- the kubelet of node 0 CPU-starved: it and two busy loops share one core.

It checks what a user would call a false alarm: no node is ever marked not Ready, and no
node gets a NoExecute taint (which is what evicts pods), while every kubelet runs; no HTTP
request through the Service fails; the registers' history is linearizable and the watcher
heard every acknowledged write, in order, once; and it prints every process's resident memory at the
start, once warm (a third of the way) and at the end, failing if a Tugboat process grew by
more than half after it was warm (a leak grows without bound; a warm cache does not).
etcd's memory is printed, not judged: it follows the history kept until compaction.

The file is not named test_*: pytest collects it only when `make soak` names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from cli.cluster.processes import alive
from client.api import ApiClient
from client.errors import ApiError, NotFound
from master.controllers import controller_utils as cu
from proto import core_pb2
from tests.chaos.helpers import Prober, tug, web_app
from tests.chaos.history import History, RegisterClient
from tests.chaos.linearizability import check
from tests.chaos.registers import RECORDING, close, follow, random_operations
from tests.chaos.watchcheck import Stream, check_reference, check_stream
from tests.support.cluster import Cluster, running_cluster
from tests.support.memory import rss_mib

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SECONDS = float(os.environ.get("TUG_SOAK_SECONDS", "600"))
ROLL_EVERY = 60.0
GROWTH_LIMIT = 1.5
"""The most a process's resident memory may grow from warm to the end."""
TAINTS = ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")
REGISTERS = "soak-registers"
KEYS = [f"k{i}" for i in range(8)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("soak") / "tug-home"
    with running_cluster(home, name="soak", etcd_members=3) as c:
        yield c


@contextlib.contextmanager
def starved(pid: int) -> Iterator[None]:
    """Pin process `pid` to core 0 beside two busy loops; undo and stop them after."""
    before = os.sched_getaffinity(pid)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        for p in busy:
            os.sched_setaffinity(p.pid, {0})
        os.sched_setaffinity(pid, {0})
        yield
    finally:
        for p in busy:
            p.kill()
            p.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(pid, before)


class Watchers:
    """False alarms seen on the Nodes."""

    def __init__(self) -> None:
        self.not_ready: list[str] = []
        self.tainted: list[str] = []

    async def follow(self, api: ApiClient) -> None:
        async for event in api.watch("nodes"):
            node = event.object
            if not isinstance(node, core_pb2.Node):
                continue
            c = cu.get_condition(node.status.conditions, "Ready")
            if c is not None and c.status != "True":
                self.not_ready.append(f"{node.metadata.name}: Ready={c.status} ({c.reason})")
            for taint in node.spec.taints:
                if taint.key in TAINTS:
                    self.tainted.append(f"{node.metadata.name}: {taint.key}")


async def churn(api: ApiClient, worker: int, stop: asyncio.Event, errors: list[str]) -> int:
    """Create and delete ConfigMaps until `stop`; the number of operations."""
    done = 0
    for i in range(1_000_000):
        if stop.is_set():
            break
        cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
        cm.metadata.name, cm.metadata.namespace = f"soak-{worker}-{i}", "default"
        try:
            await api.create(cm)
            await api.delete("configmaps", "default", cm.metadata.name)
            done += 2
        except NotFound:
            done += 2
        except ApiError as e:
            errors.append(f"{cm.metadata.name}: {e.reason}: {e.message}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.1):
                await stop.wait()
    return done


async def registers(cluster: Cluster, history: History, process: int, stop: asyncio.Event) -> None:
    """One recorded register client for the whole soak."""
    async with cluster.client(options=RECORDING) as api:
        client = RegisterClient(api, history, process, REGISTERS, KEYS)
        await random_operations(client, stop, limit=int(SECONDS * 20), pause=0.2)


@pytest.mark.timeout(SECONDS + 600)
async def test_a_loaded_cluster_raises_no_false_alarm_and_holds_its_memory(cluster: Cluster):
    (await tug(cluster, "apply", "-f", "-", stdin=web_app("soak", 3, 30095))).ok()
    (await tug(cluster, "rollout", "status", "deployment/soak", "--timeout", "120")).ok()
    records = [r for r in cluster.records() if alive(r)]
    start_rss = {r.name: rss_mib(r.pid) for r in records}
    kubelet = next(r for r in records if r.name == "kubelet-0")
    stop = asyncio.Event()
    errors: list[str] = []
    watchers = Watchers()
    prober = Prober(f"http://{cluster.node_ip(1)}:30095/", interval=0.2)
    history = History()
    (await tug(cluster, "create", "namespace", REGISTERS)).ok()
    async with cluster.client() as api:
        start = (await api.list("configmaps", REGISTERS)).resource_version
        stream = Stream("soak-watcher", int(start), [])
        watching = asyncio.create_task(follow(api, REGISTERS, start, stream.events))
        recording = [asyncio.create_task(registers(cluster, history, p, stop)) for p in range(3)]
        tasks = [asyncio.create_task(churn(api, w, stop, errors)) for w in range(5)]
        following = asyncio.create_task(watchers.follow(api))
        probing = asyncio.create_task(prober.run(stop, limit=SECONDS + 120))
        rolls = 0
        began = time.monotonic()
        warm_rss: dict[str, float] = {}
        try:
            with starved(kubelet.pid):
                while time.monotonic() - began < SECONDS:
                    if not warm_rss and time.monotonic() - began >= SECONDS / 3:
                        warm_rss = {r.name: rss_mib(r.pid) for r in records}
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(min(ROLL_EVERY, SECONDS)):
                            await stop.wait()
                    (await tug(cluster, "rollout", "restart", "deployment/soak")).ok()
                    (await tug(cluster, "rollout", "status", "deployment/soak",
                               "--timeout", "120")).ok()  # fmt: skip
                    rolls += 1
        finally:
            stop.set()
            operations = sum(await asyncio.gather(*tasks))
            await asyncio.gather(*recording)
            try:
                # A calm watch from the soak's start could find that revision compacted
                # long ago: the stream is judged against itself and the history.
                await close(api, history, REGISTERS, [stream], timeout=60)
                problems = [str(v) for v in check(history.ops)]
                problems += check_reference(stream.events, history.ops)
                problems += check_stream(stream, stream.events)
            finally:
                following.cancel()
                watching.cancel()
                await asyncio.gather(following, watching, probing, return_exceptions=True)
    end_rss = {r.name: rss_mib(r.pid) for r in records}
    warm_rss = warm_rss or start_rss
    print(f"\nsoak of {SECONDS:.0f} s: {operations} ConfigMap creates and deletes, {rolls} "
          f"rolling restarts, {prober.ok} HTTP answers, {prober.failed} failed, "
          f"{len(history.ops)} register operations {history.counts()}, "
          f"{len(stream.events)} changes heard")  # fmt: skip
    print(f"{'process':<24}{'RSS start MiB':>14}{'warm':>8}{'end':>8}")
    for name in sorted(start_rss):
        print(f"{name:<24}{start_rss[name]:>14.0f}{warm_rss[name]:>8.0f}{end_rss[name]:>8.0f}")
    assert watchers.not_ready == [], watchers.not_ready
    assert watchers.tainted == [], watchers.tainted
    assert errors == [], errors[:10]
    assert prober.failed == 0
    assert problems == [], "\n".join(problems[:10])
    grown = {
        n: (warm_rss[n], end_rss[n])
        for n in warm_rss
        if not n.startswith("etcd") and warm_rss[n] and end_rss[n] > GROWTH_LIMIT * warm_rss[n]
    }
    assert grown == {}, grown

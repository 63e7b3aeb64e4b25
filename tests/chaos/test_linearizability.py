"""The API's promises checked on recorded histories while masters and etcd fail.

Six clients read, create, compare-and-set, delete and list eight ConfigMap registers on
a 3-master, 3-etcd-member cluster, and three watchers follow them, while a nemesis kills
API servers (-9), kills etcd's leader (-9) and stops a whole master past its leader
lease (SIGSTOP). Afterwards the history must be linearizable key by key (a read after an
acknowledged write sees it, a Conflict wrote nothing) and every watcher must have heard
exactly the committed changes, in order, across its fail-overs (tests/chaos/history.py,
linearizability.py and watchcheck.py say how).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request

import pytest

from client.api import ApiClient
from client.errors import ApiError
from client.timeouts import within
from client.tls import ClientCredentials
from tests.chaos.helpers import kill, layout_of, master_processes, restart, tug
from tests.chaos.history import History, RegisterClient
from tests.chaos.registers import (
    RECORDING,
    close,
    follow,
    judge,
    random_operations,
    stop_watching,
)
from tests.chaos.watchcheck import Event, Stream
from tests.support.cluster import Cluster

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NAMESPACE = "linearizable"
KEYS = [f"k{i}" for i in range(8)]
CLIENTS = 6
WATCHERS = 3
OPS_PER_CLIENT = 120
LEADER_LEASE = 3.0
"""The elected components' lease TTL (`--leader-lease`, default 3 s)."""
# Fault-injection timings, not waits for a condition: how long a victim stays dead or
# stopped, and the pause between faults.
DOWNTIME_SECONDS = 1.5
STOPPED_SECONDS = LEADER_LEASE + 1.5
BETWEEN_FAULTS_SECONDS = 1.0
RUN_LIMIT_SECONDS = 120.0


def etcd_leader(cluster: Cluster) -> str:
    """The etcd member that leads now, by etcd's own status."""
    layout = layout_of(cluster)
    auth = cluster.root / "auth"
    tls = ClientCredentials.from_files(auth / "ca.crt", auth / "admin.crt", auth / "admin.key")
    statuses = {}
    for i in range(cluster.etcd_members):
        url = f"https://127.0.0.1:{layout.etcd_client_port(i)}/v3/maintenance/status"
        request = urllib.request.Request(url, data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=5, context=tls.ssl_context()) as answer:
            statuses[f"etcd-{i}"] = json.loads(answer.read())
    leaders = {status["leader"] for status in statuses.values()}
    assert len(leaders) == 1, f"etcd members disagree on their leader: {statuses}"
    leader = leaders.pop()
    return next(m for m, s in statuses.items() if s["header"]["member_id"] == leader)


async def nemesis(cluster: Cluster, faults: list[str]) -> None:
    """kill -9 an API server, etcd's leader, two API servers at once; SIGSTOP a master."""
    plan: list[tuple[str, list[str], signal.Signals]] = [
        ("kill -9", ["apiserver-0"], signal.SIGKILL),
        ("kill -9 etcd leader", [], signal.SIGKILL),
        ("SIGSTOP past the lease", master_processes(1), signal.SIGSTOP),
        ("kill -9", ["apiserver-1", "apiserver-2"], signal.SIGKILL),
        ("kill -9 etcd leader", [], signal.SIGKILL),
    ]
    for what, names, sig in plan:
        victims = names or [await asyncio.to_thread(etcd_leader, cluster)]
        await kill(cluster, *victims, sig=sig)
        faults.append(f"{what} {'+'.join(victims)}")
        if sig is signal.SIGSTOP:
            await asyncio.sleep(STOPPED_SECONDS)
            await kill(cluster, *victims, sig=signal.SIGCONT)
        else:
            await asyncio.sleep(DOWNTIME_SECONDS)
            await restart(cluster, *victims)
        await asyncio.sleep(BETWEEN_FAULTS_SECONDS)


async def client(cluster: Cluster, history: History, process: int, stop: asyncio.Event) -> None:
    async with cluster.client(options=RECORDING) as api:
        registers = RegisterClient(api, history, process, NAMESPACE, KEYS)
        await random_operations(registers, stop, limit=OPS_PER_CLIENT, pause=0.05)


async def watcher(cluster: Cluster, start: str, heard: list[Event]) -> None:
    async with cluster.client() as api:
        await follow(api, NAMESPACE, start, heard)


async def test_histories_under_killed_servers_and_etcd_leaders_are_linearizable_and_watches_whole(
    cluster: Cluster, api: ApiClient
) -> None:
    (await tug(cluster, "create", "namespace", NAMESPACE)).ok()
    start = (await api.list("configmaps", NAMESPACE)).resource_version
    history = History()
    faults: list[str] = []
    streams = [Stream(f"watcher-{w}", int(start), []) for w in range(WATCHERS)]
    stop = asyncio.Event()
    watching = [asyncio.create_task(watcher(cluster, start, s.events)) for s in streams]
    began = time.monotonic()
    try:
        clients = asyncio.gather(*(client(cluster, history, p, stop) for p in range(CLIENTS)))
        await within(nemesis(cluster, faults), RUN_LIMIT_SECONDS)
        stop.set()
        await within(clients, 30)
        ran = time.monotonic() - began

        end = await close(api, history, NAMESPACE, streams, timeout=60)
    finally:
        stop.set()
        await stop_watching(watching)

    checked = time.monotonic()
    reference, problems = await judge(api, history, NAMESPACE, streams, end)
    print(
        f"\nlinearizability: {len(history.ops)} operations by {CLIENTS} clients in {ran:.1f} s "
        f"({history.counts()}), {len(reference)} committed changes, "
        f"{[len(s.events) for s in streams]} heard by the watchers, faults: {'; '.join(faults)}; "
        f"checked in {time.monotonic() - checked:.2f} s"
    )
    try:
        await api.delete("namespaces", "", NAMESPACE)
    except ApiError:
        pass
    assert len(faults) == 5, faults
    assert len(history.ops) >= 300, history.counts()
    assert not problems, "\n\n".join(problems)
    assert all(s.events for s in streams), "a watcher heard nothing"

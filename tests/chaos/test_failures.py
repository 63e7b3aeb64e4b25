"""Chaos on a real HA cluster: etcd member loss, master loss, node partition, node loss,
Jepsen's set test under killed masters and a killed etcd member, and a rolling restart.

Each test prints its figures (times to recovery, request counts); none asserts on speed
beyond the guarantees the design makes (a new leader within lease TTL + 2 s).
"""

from __future__ import annotations

import asyncio
import re
import signal
import time

import pytest

from cli.cluster.probes import http_get
from cli.cluster.processes import alive
from client.api import ApiClient, ClientOptions
from client.errors import AlreadyExists, ApiError, Invalid
from proto import core_pb2, meta_pb2
from tests.chaos.helpers import (
    ELECTED,
    Prober,
    deploy,
    holders,
    kill,
    master_processes,
    node_processes,
    nodes_ready,
    pods,
    ready_pods,
    restart,
    running_containers,
    tug,
    undeploy,
)
from tests.support.cluster import Cluster
from tests.support.waiting import eventually

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LEADER_LEASE = 3.0
"""The elected components' lease TTL (`--leader-lease`, default 3 s)."""
# The set test's nemesis keeps each victim dead this long (past a leader lease's renew
# deadline, so elections really happen), then lets the restarted one rejoin before the
# next kill. These are fault-injection timings, not waits for a condition.
VICTIM_DOWNTIME_SECONDS = 1.5
REJOIN_PAUSE_SECONDS = 0.5


def master_of(identity: str) -> int:
    """Master index from a leader identity such as `chaos-master-2`."""
    found = re.search(r"master-(\d+)", identity)
    assert found, f"cannot tell the master of leader {identity!r}"
    return int(found.group(1))


async def leaders_by_metrics(cluster: Cluster) -> dict[str, list[int]]:
    """Which masters' schedulers and controller managers report leading (their gauge)."""
    out: dict[str, list[int]] = {c: [] for c in ELECTED}
    for block, component in ((3, "tug-scheduler"), (4, "tug-controller-manager")):
        for m in range(cluster.masters):
            _, body = await http_get("127.0.0.1", cluster.base_port + 10 * block + m, "/metrics")
            line = f'tugboat_leader_is_leader{{component="{component}"}} 1.0'
            if line.encode() in body:
                out[component].append(m)
    return out


async def test_losing_one_etcd_member_keeps_the_api_serving_and_loses_nothing(
    cluster: Cluster, api: ApiClient
):
    namespace = "etcd-loss"
    (await tug(cluster, "create", "namespace", namespace)).ok()

    async def write(i: int) -> None:
        cm = core_pb2.ConfigMap(
            metadata=meta_pb2.ObjectMeta(name=f"cm-{i}", namespace=namespace),
            data={"i": str(i)},
        )
        await api.create(cm)

    for i in range(20):
        await write(i)
    killed_at = await kill(cluster, "etcd-0")  # the first member every API server dials
    for i in range(20, 60):
        await write(i)
    listed = await api.list("configmaps", namespace)
    served = time.monotonic() - killed_at
    assert sorted(c.metadata.name for c in listed.items) == sorted(f"cm-{i}" for i in range(60))
    await restart(cluster, "etcd-0")
    # The restarted member caught up: every API server (each on its own first member) agrees.
    for server in cluster.servers:
        async with cluster.client([server]) as one:
            again = await one.list("configmaps", namespace)
            assert len(again.items) == 60, server
    print(f"\netcd member loss: 40 writes and a list served in {served:.2f}s with etcd-0 dead")


async def test_killing_the_leading_master_elects_a_new_leader_within_the_lease_and_work_goes_on(
    cluster: Cluster, api: ApiClient
):
    before = await holders(api)
    m = master_of(before["tug-controller-manager"])
    led = [c for c in ELECTED if master_of(before[c]) == m]
    at_once: list[str] = []
    stop = asyncio.Event()

    async def watch_leaders() -> None:
        # Every ~0.1 s, each component's leaders as their own gauges say: never two.
        deadline = time.monotonic() + 180
        while not stop.is_set() and time.monotonic() < deadline:
            for component, masters in (await leaders_by_metrics(cluster)).items():
                if len(masters) > 1:
                    at_once.append(f"{component} on masters {masters}")
            await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch_leaders())
    killed_at = await kill(cluster, *master_processes(m))
    took: dict[str, float] = {}

    async def new_leaders() -> bool:
        try:
            now = await holders(api)
        except ApiError:
            return False
        for component in led:
            if component not in took and now[component] != before[component]:
                took[component] = time.monotonic() - killed_at
                assert master_of(now[component]) != m
        return len(took) == len(led)

    await eventually(new_leaders, timeout=30, interval=0.05, what="new leaders")
    print(f"\nmaster loss: master-{m} killed; new leaders after " +
          ", ".join(f"{c} {t:.2f}s" for c, t in took.items()))  # fmt: skip
    for component, seconds in took.items():
        assert seconds <= LEADER_LEASE + 2, f"{component} took {seconds:.2f}s"

    # The new leaders act: a Deployment created now is scheduled and runs.
    try:
        await deploy(cluster, "after-master-loss", 2, 30091)
        assert len(await ready_pods(api, "app=after-master-loss")) == 2
        await restart(cluster, *master_processes(m))
    finally:
        stop.set()
        await watcher
        await undeploy(cluster, "after-master-loss")
    assert at_once == [], at_once
    # The restarted master is a follower: the leaders stay where they moved.
    assert all(master_of(h) != m for c, h in (await holders(api)).items() if c in led)


async def test_a_paused_kubelet_past_its_grace_period_never_has_a_pod_run_twice(
    cluster: Cluster, api: ApiClient
):
    name = "partitioned"
    await deploy(cluster, name, 3, 30092)
    try:
        placed = {p.metadata.name: p.spec.node_name for p in await ready_pods(api, f"app={name}")}
        victim = sorted(placed.values())[0]
        j = next(j for j in range(cluster.nodes) if cluster.node_name(j) == victim)
        stranded = {pod for pod, node in placed.items() if node == victim}
        twice: list[str] = []
        stop = asyncio.Event()

        async def sample() -> None:
            # Kubelets stamp every container with its pod's name and node: a name running
            # on two nodes at one instant is a pod running twice.
            deadline = time.monotonic() + 180
            while not stop.is_set() and time.monotonic() < deadline:
                seen: dict[str, set[str]] = {}
                for _, pod, node in await asyncio.to_thread(running_containers, cluster):
                    seen.setdefault(pod, set()).add(node)
                twice.extend(f"{p} on {sorted(n)}" for p, n in seen.items() if len(n) > 1)
                await asyncio.sleep(0.25)

        sampler = asyncio.create_task(sample())
        paused_at = await kill(cluster, f"kubelet-{j}", sig=signal.SIGSTOP)

        async def replaced() -> bool:
            ready = await ready_pods(api, f"app={name}")
            return len(ready) == 3 and all(p.spec.node_name != victim for p in ready)

        await eventually(replaced, timeout=90, interval=0.25, what=f"pods replaced off {victim}")
        replaced_after = time.monotonic() - paused_at
        resumed_at = await kill(cluster, f"kubelet-{j}", sig=signal.SIGCONT)
        names = [cluster.node_name(k) for k in range(cluster.nodes)]
        await eventually(lambda: nodes_ready(api, names), timeout=60, what=f"{victim} Ready")

        async def stale_gone() -> bool:
            running = await asyncio.to_thread(running_containers, cluster)
            return not [pod for _, pod, _ in running if pod in stranded]

        await eventually(stale_gone, timeout=60, interval=0.25, what="stranded pods stopped")
        cleaned_after = time.monotonic() - resumed_at
        stop.set()
        await sampler
        print(
            f"\nnode partition: {victim} paused; its {len(stranded)} pod(s) replaced after "
            f"{replaced_after:.1f}s; stale containers gone {cleaned_after:.1f}s after resume"
        )
        assert twice == [], twice

        async def stranded_deleted() -> bool:
            # The resumed kubelet confirms the evicted pods' deletion once they are stopped.
            live = await pods(api, f"app={name}")
            return not {p.metadata.name for p in live} & stranded

        await eventually(stranded_deleted, timeout=60, what="the stranded pods deleted")
    finally:
        await undeploy(cluster, name)


async def test_losing_a_node_moves_its_pods_and_the_service_keeps_answering(
    cluster: Cluster, api: ApiClient
):
    name = "survivor"
    await deploy(cluster, name, 3, 30093)
    stop = asyncio.Event()
    try:
        placed = {p.spec.node_name for p in await ready_pods(api, f"app={name}")}
        j = next(j for j in range(cluster.nodes) if cluster.node_name(j) in placed)
        victim = cluster.node_name(j)
        other = (j + 1) % cluster.nodes
        prober = Prober(f"http://{cluster.node_ip(other)}:30093/")
        probing = asyncio.create_task(prober.run(stop))
        await eventually(
            lambda: prober.ok >= 5,
            timeout=60,
            what=f"the service answering at {prober.url} (before any kill)",
        )

        killed_at = await kill(cluster, *node_processes(j))
        await asyncio.to_thread(cluster.remove_containers, j)

        async def recovered() -> bool:
            ready = await ready_pods(api, f"app={name}")
            return len(ready) == 3 and all(p.spec.node_name != victim for p in ready)

        await eventually(recovered, timeout=120, interval=0.25, what=f"pods moved off {victim}")
        recovered_at = time.monotonic()
        await eventually(
            lambda: len(prober.answers) >= 10 and all(g for _, g in prober.answers[-10:]),
            timeout=60,
            what=f"ten answers in a row from {prober.url} after recovery",
        )
        stop.set()
        await probing
        answered, failed = prober.between(killed_at, recovered_at)
        print(
            f"\nnode loss: {victim} killed; pods running elsewhere after "
            f"{recovered_at - killed_at:.1f}s; during it the service answered {answered} "
            f"and failed {failed} requests (those sent to the dead node's pods)"
        )
        assert answered > 0, "the service stopped answering while the node was down"
        assert failed <= answered, "more requests failed than the dead node's share"
    finally:
        stop.set()
        await undeploy(cluster, name)


async def test_no_acknowledged_create_is_lost_while_masters_and_an_etcd_member_die(
    cluster: Cluster, api: ApiClient
):
    namespace, total = "jepsen", 500
    (await tug(cluster, "create", "namespace", namespace)).ok()
    acknowledged: set[str] = set()
    uncertain: set[str] = set()
    refused: set[str] = set()
    writing = asyncio.Event()
    kills: list[str] = []

    async def writer(names: list[str]) -> None:
        options = ClientOptions(timeout=3.0, retry_deadline=6.0)
        async with cluster.client(options=options) as client:
            for name in names:
                cm = core_pb2.ConfigMap(
                    metadata=meta_pb2.ObjectMeta(name=name, namespace=namespace),
                    data={"name": name},
                )
                try:
                    await client.create(cm)
                    acknowledged.add(name)
                except AlreadyExists:
                    acknowledged.add(name)  # an earlier attempt of ours landed
                except Invalid:
                    refused.add(name)
                except ApiError:
                    uncertain.add(name)  # timed out or unavailable: may or may not exist
                await asyncio.sleep(0.06)

    async def nemesis() -> None:
        # Masters in turn, then the third etcd member, each killed -9 and restarted.
        victims = [master_processes(0), ["etcd-2"], master_processes(1), master_processes(2)]
        for round_ in range(8):
            if not writing.is_set():
                return
            group = victims[round_ % len(victims)]
            await kill(cluster, *group)
            kills.append("+".join(group))
            await asyncio.sleep(VICTIM_DOWNTIME_SECONDS)
            await restart(cluster, *group)
            await asyncio.sleep(REJOIN_PAUSE_SECONDS)

    names = [f"set-{i:03d}" for i in range(total)]
    writing.set()
    chaos = asyncio.create_task(nemesis())
    await asyncio.gather(*(writer(names[w::4]) for w in range(4)))
    writing.clear()
    await chaos

    listed = await api.list("configmaps", namespace)
    present = {c.metadata.name for c in listed.items}
    lost = acknowledged - present
    print(
        f"\nset test: {total} creates while killing {', '.join(kills)}: "
        f"{len(acknowledged)} acknowledged, {len(lost)} lost, {len(uncertain)} uncertain "
        f"({len(uncertain & present)} of them present), {len(refused)} refused"
    )
    assert kills, "the nemesis never ran"
    assert not refused, sorted(refused)
    assert not lost, sorted(lost)
    assert present <= acknowledged | uncertain, sorted(present - acknowledged - uncertain)


async def stop_gracefully(cluster: Cluster, name: str, timeout: float = 30) -> None:
    """SIGTERM `name` and wait until it has exited (as an operator's rolling restart)."""
    record = await asyncio.to_thread(cluster.kill, name, signal.SIGTERM)
    await eventually(
        lambda: not alive(record), timeout=timeout, interval=0.05, what=f"{name} exited"
    )


async def test_a_rolling_restart_of_every_master_then_every_kubelet_fails_no_request(
    cluster: Cluster, api: ApiClient
):
    name = "rolling"
    await deploy(cluster, name, 3, 30094)
    stop = asyncio.Event()
    failures: list[str] = []
    created: list[str] = []
    heard: set[str] = set()
    try:
        before = sorted(running_containers(cluster))
        restarts = {p.metadata.name: _restarts(p) for p in await pods(api, f"app={name}")}
        prober = Prober(f"http://{cluster.node_ip(0)}:30094/")
        probing = asyncio.create_task(prober.run(stop, limit=600))
        await eventually(lambda: prober.ok >= 5, timeout=60, what=f"{prober.url} answering")
        start = (await api.list("configmaps", "default")).resource_version

        async def clients(worker: int) -> None:
            async with cluster.client() as own:
                for i in range(100_000):
                    if stop.is_set():
                        return
                    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
                    cm.metadata.name, cm.metadata.namespace = f"roll-{worker}-{i}", "default"
                    try:
                        await own.create(cm)
                        created.append(cm.metadata.name)
                        await own.get("configmaps", "default", cm.metadata.name)
                        await own.list("configmaps", "default", limit=50)
                    except ApiError as e:
                        failures.append(f"{cm.metadata.name}: {e.reason}: {e.message}")
                    await asyncio.sleep(0.05)

        async def watcher() -> None:
            async for event in api.watch("configmaps", "default", resource_version=start):
                if event.object is not None:
                    heard.add(event.object.metadata.name)

        load = [asyncio.create_task(clients(w)) for w in range(3)]
        watching = asyncio.create_task(watcher())
        began = time.monotonic()
        for m in range(cluster.masters):
            for process in master_processes(m):
                await stop_gracefully(cluster, process)
                await restart(cluster, process)
        for j in range(cluster.nodes):
            await stop_gracefully(cluster, f"kubelet-{j}")
            await restart(cluster, f"kubelet-{j}")
        rolled = time.monotonic() - began
        stop.set()
        await asyncio.gather(*load)
        await eventually(
            lambda: set(created) <= heard, timeout=30, what="the watch heard every create"
        )
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        await probing
        after = sorted(running_containers(cluster))
        restarted = {p.metadata.name: _restarts(p) for p in await pods(api, f"app={name}")}
        print(
            f"\nrolling restart of {cluster.masters} masters and {cluster.nodes} kubelets in "
            f"{rolled:.1f}s: {len(created)} creates (each read and listed), {prober.ok} HTTP "
            f"answers, {len(failures)} failed calls, {prober.failed} failed requests"
        )
        assert failures == []
        assert prober.failed == 0
        assert after == before, "an app container was replaced"
        assert restarted == restarts, "a pod's containers restarted"
    finally:
        stop.set()
        await undeploy(cluster, name)


def _restarts(pod: core_pb2.Pod) -> int:
    return sum(s.restart_count for s in pod.status.container_statuses)

"""Many simulated nodes: a big Deployment to Running, memory, and false alarms.

    .venv/bin/python -m bench.scale [--nodes 1000] [--replicas 3000] [--processes 4]
                                    [--apiservers 1]

Starts its own etcd, one `tug-apiserver`, one `tug-scheduler`, one
`tug-controller-manager` and `--nodes` fake-runtime nodes spread over `--processes`
`tug-kubelet --simulate` processes, every component a process of its own. Then:

- the time until every node is Ready;
- a `--replicas` Deployment from create to every pod Running and ready, in pods/s
  (Kubernetes' 5,000-node e2e runs at 100-150 pods/s; issue #14's goal is 150);
- every process's resident memory, and per simulated node and per pod;
- the API requests the rollout cost per pod, by verb and resource (the server's
  `tugboat_apiserver_requests_total`, before the Deployment and once all pods run; the
  nodes' own heartbeats over that time are among them);
- false alarms while every kubelet runs: nodes ever marked not Ready after their first
  Ready (from a watch on Nodes), pods the kubelets fenced (their logs), and leaders lost
  (changes of the scheduler's and controller manager's Lease holders);
- the share of one core each process used during the rollout, the kubelets' failed
  Lease renewals by cause and the renewals they began late, more than two periods after
  the last (their logs): what tells simulated nodes starved of CPU, whose renewals really
  were late, from a control plane that answered late.
- what a client waited for a read, an update and a Lease update, from the start of the
  join to the end of the rollout (`RoundTrips`), beside the API server's own timing: a
  call that waits in gRPC's server before any handler takes it shows only here.

Prints figures; asserts nothing. The last three must be 0.

The simulated kubelets stand for kubelets on thousands of other machines, as kubemark's
hollow nodes run on a cluster of their own, but here they share two cores with the
control plane. `--nodes-nice` (default 10) lowers their CPU priority, so that the
control plane gets the CPU it would have on its own hosts and the nodes the rest; 0
gives every process an equal share, as runs before this option measured.

`--apiservers N` runs N API server processes on the one etcd and gives every component
all of them. On two cores a second one measured worse at 5,000 nodes (issue #14 asked
for 1, 2 and 3 side by side): each keeps its own watch cache of every write, and the
machine, not one process, was then the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import re
import statistics
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.controllers_cluster import (
    Bench,
    bench_cluster,
    deployment,
    node_ready,
    pod_running,
    wait,
)
from client.api import ApiClient
from client.errors import ApiError
from client.informer import Informer
from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2
from tests.support.apiserver import ApiServerProcess
from tests.support.cpu import cpu_seconds
from tests.support.memory import rss_mib

CLUSTER_CIDR = "10.0.0.0/8"
"""Room for 65,536 node /24s: the tests' 172.30.0.0/16 holds 255, and a node without a
podCIDR starts no pod (Kubernetes' large clusters size --cluster-cidr the same way)."""
NODE_MONITOR_PERIOD = 5.0
"""Kubernetes' --node-monitor-period: the tests' 1 s walks every node five times as often,
for a NotReady that a 40 s grace makes no sooner."""
POD_UPDATES_BATCH_PERIOD = 1.0
"""--pod-updates-batch-period: the ReplicaSet's status follows its 3,000 pods at most a
second late, instead of a sync of all of them after every pod's update."""


def counted(informer: Informer[Any], test: Callable[[Any], bool]) -> int:
    """How many objects in the informer's cache pass `test`.

    The bench follows its progress with informers (one list, then a watch), as
    clusterloader2 does. It used to list every pod of the rollout each second, and on
    etcd older than 3.4.31 such a consistent list is read and decoded from etcd: work
    the API server did for the bench alone, in the middle of what it measured."""
    return sum(1 for obj in informer.list(copy=False) if test(obj))


def fenced_nodes(logs: list[str]) -> int:
    """Simulated nodes that stopped their pods because their Lease went unrenewed, from
    the kubelets' logs."""
    return sum(log.count("fenced: this node's pods are stopped") for log in logs)


def renewal_failures(logs: str) -> collections.Counter[str]:
    """A kubelet log's failed Lease renewals by cause: "timed out" (no answer within the
    client's deadline and retries), "lost a race" (a Conflict after the read and retries
    of one round) or "other"."""
    causes: collections.Counter[str] = collections.Counter()
    for line in logs.splitlines():
        if '"lease renewal failed"' not in line:
            continue
        if "DEADLINE_EXCEEDED" in line:
            causes["timed out"] += 1
        elif "the object has been modified" in line:
            causes["lost a race"] += 1
        else:
            causes["other"] += 1
    return causes


def renewal_gaps(logs: str) -> list[float]:
    """The gaps, in seconds, before the renewals a kubelet log says it began more than two
    Lease periods after the one before: time the node itself let pass (its loop was
    starved, or its last renewal waited on the server), which no controller can mend."""
    gaps: list[float] = []
    for line in logs.splitlines():
        if '"lease renewed after a gap"' in line:
            found = re.search(r'"seconds": ([\d.]+)', line)
            if found:
                gaps.append(float(found.group(1)))
    return gaps


class CpuShares:
    """The share of one core each named process used between two readings."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.started = time.monotonic()
        self.before = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def shares(self) -> dict[str, float]:
        wall = max(time.monotonic() - self.started, 1e-9)
        return {
            name: (cpu_seconds(pid) - self.before[name]) / wall for name, pid in self.pids.items()
        }


class RoundTrips:
    """What one client waits for each kind of call, sampled once a `every` seconds.

    The API server times a request from its handler on; a call that waited in gRPC's
    server before that (one method's calls are taken one at a time) is seen only by its
    client. This one reads the default Namespace, updates a ConfigMap and updates a Lease
    (through the Lease lanes), one after another, each round."""

    CALLS = ("get", "update", "lease update")

    def __init__(self, api: Any, every: float = 1.0) -> None:
        self.api = api
        self.every = every
        self.seconds: dict[str, list[float]] = {call: [] for call in self.CALLS}
        self.failed = 0

    async def _timed(self, call: str, act: Awaitable[Any]) -> Any:
        """`act`'s answer, None if it failed; its wait recorded either way."""
        started = time.monotonic()
        try:
            return await act
        except ApiError:
            self.failed += 1
            return None
        finally:
            self.seconds[call].append(time.monotonic() - started)

    async def run(self, rounds: int | None = None) -> None:
        """Sample until cancelled (or for `rounds` rounds)."""
        cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
        cm.metadata.name, cm.metadata.namespace = "scale-round-trips", "default"
        lease = workloads_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
        lease.metadata.name, lease.metadata.namespace = "scale-round-trips", "default"
        cm = await self.api.create(cm)
        lease = await self.api.create(lease)
        done = 0
        while rounds is None or done < rounds:
            await self._timed("get", self.api.get("namespaces", "", "default"))
            cm.data["round"] = str(done)
            updated = await self._timed("update", self.api.update(cm))
            lease.spec.lease_duration_seconds = done % 60 + 1
            renewed = await self._timed("lease update", self.api.update(lease))
            try:
                # A failed update may have landed: the next round starts from what is stored.
                cm = updated or await self.api.get("configmaps", "default", cm.metadata.name)
                lease = renewed or await self.api.get("leases", "default", lease.metadata.name)
            except ApiError:
                self.failed += 1
            done += 1
            await asyncio.sleep(self.every)

    def summary(self) -> str:
        """One line: each call's median and longest wait in ms, and the calls that failed."""
        parts = []
        for call, seconds in self.seconds.items():
            if seconds:
                median = statistics.median(seconds) * 1000
                parts.append(f"{call} {median:.0f} / {max(seconds) * 1000:.0f}")
        rounds = min((len(s) for s in self.seconds.values()), default=0)
        return (
            f"round trips a client waited, join and rollout (ms, median / longest of {rounds}): "
            f"{', '.join(parts)}; {self.failed} failed"
        )


def print_cpu(shares: dict[str, float], kubelets: int, nodes_nice: int) -> None:
    nodes = [v for k, v in shares.items() if k.startswith("kubelet")]
    print(f"CPU during the rollout (share of one core; this machine has {os.cpu_count()}):")
    for name, value in shares.items():
        if not name.startswith("kubelet"):
            print(f"  {name:<20}{value:>10.2f}")
    print(
        f"  {'kubelets':<20}{sum(nodes):>10.2f} ({kubelets} processes at nice {nodes_nice}, "
        f"{min(nodes, default=0):.2f}-{max(nodes, default=0):.2f} each)"
    )
    print(f"  {'all':<20}{sum(shares.values()):>10.2f}")


@contextlib.asynccontextmanager
async def more_apiservers(
    b: Bench, count: int, flags: list[str]
) -> AsyncIterator[list[ApiServerProcess]]:
    """The bench's API server and `count` more on the same etcd, every component started
    afterwards given all of them (each client starts on one at random, as many nodes spread
    over a cluster's API servers); the extra ones stopped when it ends."""
    extra: list[ApiServerProcess] = []
    try:
        for i in range(count):
            extra.append(
                ApiServerProcess.start(
                    b.components.etcd.endpoints, name=f"bench-apiserver-{i + 2}", extra_args=flags
                )
            )
        servers = [b.server, *extra]
        b.components.server = ",".join(s.endpoint for s in servers)
        yield servers
    finally:
        for server in extra:
            server.stop()


def apiserver_pids(servers: list[ApiServerProcess]) -> dict[str, int]:
    """Each API server's PID by the name its CPU share is printed under."""
    pids = {}
    for i, server in enumerate(servers):
        assert server.process is not None
        pids["apiserver" if i == 0 else f"apiserver-{i + 1}"] = server.process.pid
    return pids


def renice(pid: int, nice: int) -> None:
    """Set every thread of process `pid` to `nice`: Linux keeps a nice value per thread,
    and threads started later inherit their creator's."""
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            os.setpriority(os.PRIO_PROCESS, int(task), nice)
        except ProcessLookupError:
            pass  # a thread that has just ended


class Alarms:
    """Nodes that turned not Ready after their first Ready, and Lease holder changes."""

    def __init__(self) -> None:
        self.ready: set[str] = set()
        self.false_not_ready: set[str] = set()
        self.holders: dict[str, str] = {}
        self.leader_changes = 0

    async def follow_nodes(self, api: ApiClient) -> None:
        async for event in api.watch("nodes"):
            node = event.object
            if not isinstance(node, core_pb2.Node):
                continue
            c = cu.get_condition(node.status.conditions, "Ready")
            name = node.metadata.name
            if c is not None and c.status == "True":
                self.ready.add(name)
            elif name in self.ready:
                self.false_not_ready.add(name)

    async def follow_leases(self, api: ApiClient) -> None:
        async for event in api.watch("leases", "kube-system"):
            lease = event.object
            if not isinstance(lease, workloads_pb2.Lease):
                continue
            name, holder = lease.metadata.name, lease.spec.holder_identity
            before = self.holders.get(name)
            if before and holder != before:
                self.leader_changes += 1
            self.holders[name] = holder


async def run(
    nodes: int,
    replicas: int,
    processes: int,
    limit: float,
    inflight: int | None,
    lease_period: float,
    grace: float,
    nodes_nice: int,
    apiservers: int = 1,
) -> None:
    flags = [] if inflight is None else ["--max-requests-inflight", str(inflight)]
    print(
        f"timings: Lease renewed every {lease_period:g} s; a node unrenewed for {grace:g} s is "
        f"NotReady (controller manager, checking every {NODE_MONITOR_PERIOD:g} s) and stops "
        f"its own pods (kubelet); pod updates batched {POD_UPDATES_BATCH_PERIOD:g} s; pod CIDRs "
        f"from {CLUSTER_CIDR}; simulated nodes at nice {nodes_nice}; {apiservers} API server "
        "process(es) on one etcd"
    )
    async with bench_cluster(flags) as b, more_apiservers(b, apiservers - 1, flags) as servers:
        per = max(1, nodes // processes)
        node_flags = [
            "--lease-period", str(lease_period),
            "--node-fence-grace-period", str(grace),
            "--cluster-cidr", CLUSTER_CIDR,
        ]  # fmt: skip
        kubelets = [b.components.kubelets(f"sim{i}", per, *node_flags) for i in range(processes)]
        for kubelet in kubelets:
            renice(kubelet.process.pid, nodes_nice)
        total = per * processes
        scheduler = b.components.scheduler()
        manager = b.components.controller_manager(
            "cm-bench",
            "--node-monitor-grace-period", str(grace),
            "--node-monitor-period", str(NODE_MONITOR_PERIOD),
            "--pod-updates-batch-period", str(POD_UPDATES_BATCH_PERIOD),
            "--cluster-cidr", CLUSTER_CIDR,
        )  # fmt: skip
        alarms = Alarms()
        followers = [
            asyncio.create_task(alarms.follow_nodes(b.api)),
            asyncio.create_task(alarms.follow_leases(b.api)),
        ]
        round_trips = RoundTrips(b.api)
        followers.append(asyncio.create_task(round_trips.run()))
        node_cache = Informer[core_pb2.Node](b.api, "nodes")
        pod_cache = Informer[core_pb2.Pod](b.api, "pods", "default", label_selector="app=scale")
        followers.extend([node_cache.start(), pod_cache.start()])
        try:

            async def nodes_up() -> bool:
                return counted(node_cache, node_ready) >= total

            try:
                took = await wait(nodes_up, limit=limit, what="nodes Ready", interval=1.0)
            except RuntimeError:
                ready = counted(node_cache, node_ready)
                print(f"only {ready} of {total} simulated nodes Ready after {limit:.0f} s")
                print(f"nodes that fenced their pods: {fenced_nodes([k.logs() for k in kubelets])}")
                return
            print(f"{total} simulated nodes in {processes} processes Ready in {took:.1f} s")

            before = await all_requests_served(servers)
            etcd = b.components.etcd.members[0].process
            cpu = CpuShares(
                {
                    **apiserver_pids(servers),
                    "etcd": etcd.pid if etcd is not None else 0,
                    "scheduler": scheduler.process.pid,
                    "controller-manager": manager.process.pid,
                    "this benchmark": os.getpid(),
                    **{f"kubelet-{i}": k.process.pid for i, k in enumerate(kubelets)},
                }
            )
            await b.api.create(deployment("scale", replicas))

            async def all_running() -> bool:
                return counted(pod_cache, pod_running) >= replicas

            try:
                took = await wait(all_running, limit=limit, what="pods Running", interval=1.0)
                print(f"{replicas} replicas Running in {took:.1f} s: {replicas / took:.1f} pods/s")
            except RuntimeError:
                running = counted(pod_cache, pod_running)
                print(
                    f"only {running} of {replicas} replicas Running after {limit:.0f} s: "
                    f"{running / limit:.1f} pods/s"
                )

            shares = cpu.shares()
            after = await all_requests_served(servers)
            print(round_trips.summary())
            print_requests_per_pod(before, after, replicas)
            print_cpu(shares, len(kubelets), nodes_nice)
            # Each kubelet's log once: at 5,000 nodes they are megabytes each.
            logs = [k.logs() for k in kubelets]
            failures = sum((renewal_failures(log) for log in logs), collections.Counter())
            print(
                f"lease renewals that failed: {failures['timed out']} timed out, "
                f"{failures['lost a race']} lost a race, {failures['other']} other"
            )
            gaps = [gap for log in logs for gap in renewal_gaps(log)]
            print(
                f"renewals begun late (over 2 periods after the last): {len(gaps)}, "
                f"{sum(1 for gap in gaps if gap >= grace)} of them {grace:g} s or more "
                f"(longest {max(gaps, default=0.0):.1f} s)"
            )
            rss = {
                "apiserver": sum(rss_mib(pid) for pid in apiserver_pids(servers).values()),
                "kubelets": sum(rss_mib(k.process.pid) for k in kubelets),
                "scheduler": rss_mib(scheduler.process.pid),
                "controller-manager": rss_mib(manager.process.pid),
            }
            fenced = fenced_nodes(logs)
            print("resident memory (MiB):")
            for name, value in rss.items():
                print(f"  {name:<20}{value:>10.0f}")
            print(f"  kubelet per simulated node: {rss['kubelets'] / total * 1024:.0f} KiB")
            print(f"  API server per pod: {rss['apiserver'] / replicas * 1024:.1f} KiB (all in)")
            print(f"false NotReady nodes: {len(alarms.false_not_ready)}")
            print(f"nodes that fenced their pods: {fenced}")
            print(f"leader changes: {alarms.leader_changes}")
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)


Tally = collections.Counter[tuple[str, str]]


def _scrape_requests(url: str) -> Tally:
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    tally: Tally = collections.Counter()
    for family in text_string_to_metric_families(text):
        if family.name != "tugboat_apiserver_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = (sample.labels["verb"], sample.labels["resource"])
                tally[key] += int(sample.value)
    return tally


async def all_requests_served(servers: list[ApiServerProcess]) -> Tally:
    """Every request the API servers have answered so far, by verb and resource."""
    tally: Tally = collections.Counter()
    for server in servers:
        tally += await requests_served(server.host, server.http_port)
    return tally


async def requests_served(host: str, http_port: int) -> Tally:
    """Every request the API server has answered so far, by verb and resource."""
    if not host or not http_port:
        raise ValueError("the API server's status address is unknown")
    return await asyncio.to_thread(_scrape_requests, f"http://{host}:{http_port}/metrics")


def print_requests_per_pod(before: Tally, after: Tally, pods: int, shown: int = 8) -> None:
    spent = after - before
    print(f"API requests per pod during the rollout: {sum(spent.values()) / pods:.1f}")
    for (verb, resource), count in spent.most_common(shown):
        print(f"  {verb:<14}{resource:<26}{count / pods:>6.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--replicas", type=int, default=3000)
    p.add_argument("--processes", type=int, default=4)
    p.add_argument("--limit", type=float, default=900.0, help="give up after this many s")
    p.add_argument("--max-requests-inflight", type=int, help="the API server's cap")
    p.add_argument(
        "--lease-period",
        type=float,
        default=10.0,
        help="seconds between a node's Lease renewals (Kubernetes: 10; the tests' 1 s would be "
        "one write per node per second)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=40.0,
        help="seconds unrenewed before a node is NotReady and fences itself (Kubernetes: 40)",
    )
    p.add_argument(
        "--nodes-nice",
        type=int,
        default=10,
        help="CPU priority of the simulated kubelets' processes (see above; 0: equal shares)",
    )
    p.add_argument(
        "--apiservers",
        type=int,
        default=1,
        help="API server processes on the one etcd; every component is given all of them",
    )
    a = p.parse_args()
    asyncio.run(
        run(
            a.nodes,
            a.replicas,
            a.processes,
            a.limit,
            a.max_requests_inflight,
            a.lease_period,
            a.grace,
            a.nodes_nice,
            a.apiservers,
        )
    )


if __name__ == "__main__":
    main()

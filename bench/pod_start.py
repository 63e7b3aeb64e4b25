"""30 pods from apply to Running on Tugboat (1 and 3 nodes), against parallel `docker run`
and Docker Swarm, side by side in one run; and where a pod's time goes on one node.

    .venv/bin/python -m bench.pod_start [--pods 30] [--rounds 3] [--skip-swarm]

Issue #15 asks that pods start ahead of Swarm: at most 1.2x of 30 parallel `docker run -d`
and below `docker service create --replicas 30`. So one run measures, each `--rounds`
times, with the same image and command:

- raw: 30 `docker run -d` at once (30 threads, the CLI), until every one has returned;
- Swarm: `docker swarm init --advertise-addr 127.0.0.1`, then `docker service create
  --replicas 30 --no-resolve-image` until 30 tasks run; the service is removed after each
  round and the engine leaves the swarm afterwards whatever happens. Only when the engine
  was not in a swarm already: one we did not make is never touched, and the Swarm figures
  are then skipped;
- Tugboat: a Deployment of 30 replicas applied through the API the way `tug apply` does
  (cli.commands.apply.apply_one) until all 30 pods are Running, on a cluster of one node
  and then of three. The cluster is the cheapest one that is real: etcd, one
  `tug-apiserver`, `tug-scheduler`, `tug-controller-manager` and `tug-kubelet --runtime
  docker` per node, each its own process (tests/integration/controllers/processes.py,
  as bench.controllers_cluster uses), without `tug up`'s TLS, proxies and monitoring,
  which a pod's start does not wait for. Nodes are on 127.0.0.0/8 addresses.

The three alternate: while a cluster is up, each Tugboat round is followed by a raw round
and a Swarm round. This machine is shared and its load moves by the minute, so each
ratio compares rounds of the same minutes (the swarm stays initialised throughout, idle
between its rounds, as the idle cluster is between its). Each round's pods are deleted
and gone before the next round; a one-replica warm-up Deployment runs first on each
cluster, so leader election and the first image lookup are not counted. A pod is two
containers (its sandbox and its app) where `docker run` makes one, so the containers
each started per second are printed too: equal paces mean Tugboat waits on the engine.

The phase breakdown (one node) comes from a watch of the API, not from stored
timestamps (those are to the second): the ReplicaSet's and each pod's first sighting,
the pod's binding to a node, phase Running and the Ready condition, stamped with this
process's clock as the events arrive; and from the Docker engine's event stream (to the
nanosecond, the same clock) for when the kubelet created the pod's sandbox and started
its app container. Medians per phase, and the time after apply at which the last pod
reached each phase: the first says what one pod waits for, the second where 30 queue.
The three-node breakdown follows, indented further (bench/run.py keeps the one-node
figures). Last, the CPU seconds each kind of process used per round (kubelets, API
server, etcd, scheduler and controllers, the engine's dockerd and containerd; the `docker`
CLIs of a raw round), read from /proc: on a shared machine, CPU that Tugboat's own
processes burn while its pods start is CPU the engine does not get.

Prints figures, and the previous run's from bench/results/pod_start.json; asserts
nothing. Every container, service, network and process it starts is removed or stopped,
by its ID or by a label only it uses, also when it fails (the pod bridge the kubelets make
goes too when this run made it and no container is left on it); every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import docker

from cli.commands.apply import apply_one
from client import kinds
from client.api import ApiClient
from kubelet.network.bridge import NETWORK as POD_NETWORK
from kubelet.runtime.interface import LABEL_CONTAINER_NAME, LABEL_KIND, LABEL_NODE, LABEL_POD_NAME
from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.processes import Components
from tests.support.apiserver import ApiServerProcess
from tests.support.cpu import cpu_seconds
from tests.support.etcd import start_etcd

IMAGE = "busybox:1.35"
COMMAND = ["sleep", "3600"]
BENCH_LABEL = "io.tugboat.bench"
RESULT = Path(__file__).resolve().parent / "results" / "pod_start.json"
LIMIT = 180.0
"""Seconds one round may take before the benchmark gives up."""

PHASES = [
    ("apply -> ReplicaSet seen", "applied", "replicaset"),
    ("ReplicaSet -> pod created", "replicaset", "created"),
    ("pod created -> scheduled (bound)", "created", "scheduled"),
    ("scheduled -> sandbox created (docker)", "scheduled", "sandbox"),
    ("sandbox created -> sandbox started", "sandbox", "sandbox_started"),
    ("sandbox started -> app created", "sandbox_started", "app_created"),
    ("app created -> app started", "app_created", "started"),
    ("app started -> Running seen in API", "started", "running"),
    ("Running -> Ready", "running", "ready"),
]
"""The phase breakdown: label, from-mark, to-mark (keys of Marks.at)."""


def docker_cli(*argv: str, timeout: float = 120, check: bool = True) -> str:
    """`docker ARGV...`; its stdout."""
    done = subprocess.run(
        ["docker", *argv], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def remove_by_label(label: str) -> None:
    """Force-remove every container carrying `label` (key=value), ours only."""
    client = docker.from_env()
    try:
        for c in client.api.containers(all=True, filters={"label": [label]}):
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_container(c["Id"], force=True)
    finally:
        client.close()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- CPU time --------------------------------------------------------------------------

ENGINE_PROGRAMS = ("dockerd", "containerd")
"""The engine's long-lived processes (the per-container shims come and go)."""


def engine_pids() -> list[int]:
    """The engine's processes on this host (none visible: a remote engine)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in ENGINE_PROGRAMS:
                    pids.append(int(entry.name))
    return pids


@dataclass
class CpuMeter:
    """CPU seconds used by groups of processes over one round: the machine has 2 cores
    shared with others, so what Tugboat's own processes burn while its pods start is CPU
    the engine does not get, which raw `docker run` and Swarm do not pay."""

    groups: dict[str, list[int]]

    def sample(self) -> dict[str, float]:
        out = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Exited children only: the `docker run` CLIs of a raw round.
        out["docker CLI"] = children.ru_utime + children.ru_stime
        return out

    @contextlib.contextmanager
    def measure(self, into: list[dict[str, float]]) -> Iterator[None]:
        before = self.sample()
        try:
            yield
        finally:
            after = self.sample()
            into.append({k: after[k] - before[k] for k in after})


# -- raw docker run ----------------------------------------------------------------------


def raw_round(count: int) -> float:
    """Seconds for `count` `docker run -d` started at once until all have returned."""
    tag = uuid.uuid4().hex[:8]
    label = f"{BENCH_LABEL}={tag}"
    argv = ["run", "-d", "--label", label, IMAGE, *COMMAND]
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            started = time.monotonic()
            ids = list(pool.map(lambda _: docker_cli(*argv).strip(), range(count)))
            took = time.monotonic() - started
        if len(set(ids)) != count:
            raise RuntimeError(f"docker run made {len(set(ids))} containers, not {count}")
        return took
    finally:
        remove_by_label(label)


# -- Docker Swarm ------------------------------------------------------------------------


def swarm_state() -> str:
    return docker_cli("info", "--format", "{{.Swarm.LocalNodeState}}").strip()


@contextlib.contextmanager
def swarm() -> Iterator[None]:
    """This engine as a one-node swarm on 127.0.0.1; left (and its bridge removed) after."""
    networks = set(docker_cli("network", "ls", "--format", "{{.Name}}").split())
    try:
        docker_cli("swarm", "init", "--advertise-addr", "127.0.0.1")
        yield
    finally:
        docker_cli("swarm", "leave", "--force", check=False)
        # `swarm init` makes docker_gwbridge, which leaving keeps: remove it if it is ours.
        if "docker_gwbridge" not in networks:
            docker_cli("network", "rm", "docker_gwbridge", check=False)


def swarm_round(count: int) -> float:
    """Seconds from `docker service create --replicas count` until that many tasks run."""
    name = f"tugbench-{uuid.uuid4().hex[:8]}"
    client = docker.from_env()
    service_id = ""
    try:
        started = time.monotonic()
        service_id = docker_cli(
            "service", "create", "--detach", "--quiet", "--no-resolve-image",
            "--replicas", str(count), "--name", name, IMAGE, *COMMAND,
        ).strip()  # fmt: skip
        deadline = started + LIMIT
        # docker-py's tasks() carries no annotations.
        list_tasks: Callable[..., list[dict[str, Any]]] = client.api.tasks
        while time.monotonic() < deadline:
            tasks = list_tasks(filters={"service": service_id, "desired-state": "running"})
            if sum(t["Status"]["State"] == "running" for t in tasks) >= count:
                return time.monotonic() - started
            time.sleep(0.05)
        raise RuntimeError(f"Swarm: {count} tasks not running after {LIMIT:.0f} s")
    finally:
        if service_id:
            docker_cli("service", "rm", service_id, check=False)
            label = f"com.docker.swarm.service.id={service_id}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if not client.api.containers(all=True, filters={"label": [label]}):
                    break
                time.sleep(0.2)
            remove_by_label(label)
        client.close()


# -- Tugboat -----------------------------------------------------------------------------


@dataclass
class Marks:
    """When one pod reached each mark (time.time(), this machine's clock)."""

    at: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str, when: float) -> None:
        self.at.setdefault(name, when)


@dataclass
class Round:
    """One Tugboat round: apply time, ReplicaSet sighting and each pod's marks."""

    applied: float
    replicaset: float = 0.0
    pods: dict[str, Marks] = field(default_factory=dict)

    def running(self) -> int:
        return sum("running" in m.at for m in self.pods.values())

    def total(self, mark: str = "running") -> float:
        """Seconds from apply until the last pod reached `mark`."""
        return max(m.at[mark] for m in self.pods.values()) - self.applied


def manifest(name: str, replicas: int) -> dict[str, Any]:
    """What `tug apply -f` would read: a busybox Deployment sleeping an hour."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "main", "image": IMAGE, "command": COMMAND}],
                },
            },
        },
    }


async def _watch_pods(api: ApiClient, version: str, app: str, into: Round) -> None:
    async for event in api.watch(
        "pods", "default", resource_version=version, label_selector=f"app={app}"
    ):
        now = time.time()
        pod = event.object
        if not isinstance(pod, core_pb2.Pod) or event.type == "DELETED":
            continue
        marks = into.pods.setdefault(pod.metadata.name, Marks())
        marks.mark("created", now)
        if pod.spec.node_name:
            marks.mark("scheduled", now)
        if pod.status.phase == "Running":
            marks.mark("running", now)
        if cu.is_pod_ready(pod):
            marks.mark("ready", now)


async def _watch_replicasets(api: ApiClient, version: str, app: str, into: Round) -> None:
    async for event in api.watch(
        "replicasets", "default", resource_version=version, label_selector=f"app={app}"
    ):
        if isinstance(event.object, workloads_pb2.ReplicaSet) and not into.replicaset:
            into.replicaset = time.time()


class EngineEvents:
    """The engine's container events for `nodes`, streamed while a round runs.

    Read as they come, not asked for afterwards: the engine keeps only its last 256
    events, fewer than a round of 30 pods makes (with other users' on a shared engine).
    """

    def __init__(self, nodes: list[str]) -> None:
        self.nodes = set(nodes)
        self.events: list[dict[str, Any]] = []
        self._client = docker.from_env()
        self._stream = self._client.api.events(
            since=int(time.time()) - 1,
            filters={"type": "container", "label": [LABEL_NODE]},
            decode=True,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # the stream closed under it: done
            for e in self._stream:
                labels = e.get("Actor", {}).get("Attributes", {})
                if labels.get(LABEL_NODE) in self.nodes:
                    self.events.append(e)

    def close(self) -> None:
        """Stop reading (closing the stream ends the reader thread)."""
        with contextlib.suppress(Exception):
            self._stream.close()
        self._thread.join(timeout=5)
        self._client.close()

    def mark(self, into: Round) -> None:
        """The sandbox's and app container's create and start marks of each pod."""
        for e in list(self.events):
            labels = e.get("Actor", {}).get("Attributes", {})
            marks = into.pods.get(labels.get(LABEL_POD_NAME, ""))
            when = e.get("timeNano", 0) / 1e9
            if marks is None or when < into.applied:
                continue
            sandbox = labels.get(LABEL_KIND, "app") == "sandbox"
            app = labels.get(LABEL_CONTAINER_NAME) == "main"
            action = e.get("Action")
            if action == "create" and sandbox:
                marks.mark("sandbox", when)
            elif action == "start" and sandbox:
                marks.mark("sandbox_started", when)
            elif action == "create" and app:
                marks.mark("app_created", when)
            elif action == "start" and app:
                marks.mark("started", when)


async def _describe(api: ApiClient, app: str) -> str:
    """Where the pods of `app` are stuck, and the last events: for the error."""
    with contextlib.suppress(Exception):
        page = await api.list("pods", "default", label_selector=f"app={app}")
        pods = [p for p in page.items if isinstance(p, core_pb2.Pod)]
        states = [
            f"{p.metadata.name} on {p.spec.node_name or '-'} {p.status.phase} "
            + ",".join(f"{c.type}={c.status}:{c.reason}" for c in p.status.conditions)
            + "".join(
                f" {cs.name} waiting {cs.state.waiting.reason}: {cs.state.waiting.message}"
                for cs in p.status.container_statuses
                if cs.state.waiting.reason
            )
            for p in pods[:3]
        ]
        events = await api.list("events", "default")
        last = [
            f"{e.involved_object.name} {e.reason}: {e.message}"
            for e in events.items[-5:]
            if isinstance(e, core_pb2.Event)
        ]
        return f"{len(pods)} pods: {'; '.join(states)}; events: {'; '.join(last)}"
    return "(could not read the pods)"


async def _pods_left(api: ApiClient, app: str) -> int:
    page = await api.list("pods", "default", label_selector=f"app={app}")
    return len(page.items)


async def wait_for(check: Callable[[], Any], limit: float, what: str) -> None:
    """Until `await check()` is true; RuntimeError after `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"gave up after {limit:.0f} s waiting for {what}")


async def tugboat_round(api: ApiClient, nodes: list[str], app: str, count: int) -> Round:
    """Apply a Deployment of `count`; its marks once all run; deleted with its pods after."""
    version = (await api.list("pods", "default", limit=1)).resource_version
    result = Round(applied=0.0)
    engine = await asyncio.to_thread(EngineEvents, nodes)
    watchers = [
        asyncio.create_task(_watch_pods(api, version, app, result)),
        asyncio.create_task(_watch_replicasets(api, version, app, result)),
    ]
    try:
        result.applied = time.time()
        await apply_one(api, kinds.by_resource("deployments"), manifest(app, count), "default")
        deadline = time.monotonic() + LIMIT
        while (
            result.running() < count or sum("ready" in m.at for m in result.pods.values()) < count
        ):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{result.running()} of {count} pods Running after {LIMIT:.0f} s; "
                    f"{await _describe(api, app)}"
                )
            await asyncio.sleep(0.02)
    finally:
        for w in watchers:
            w.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        await asyncio.to_thread(engine.close)
        with contextlib.suppress(Exception):
            await api.delete("deployments", "default", app, propagation_policy="Background")

        async def gone() -> bool:
            return await _pods_left(api, app) == 0

        await wait_for(gone, LIMIT, f"the pods of {app} to be deleted")
    engine.mark(result)
    return result


async def _ready_nodes(api: ApiClient) -> int:
    page = await api.list("nodes")
    ready = 0
    for n in page.items:
        assert isinstance(n, core_pb2.Node)
        c = cu.get_condition(n.status.conditions, "Ready")
        ready += c is not None and c.status == "True"
    return ready


@asynccontextmanager
async def cluster(nodes: int) -> AsyncIterator[tuple[ApiClient, list[str], CpuMeter]]:
    """etcd, API server, scheduler, controller manager and `nodes` Docker kubelets, each a
    process; every one stopped by its PID and every pod container removed on the way out.
    With them, a meter of the CPU time each kind of process uses."""
    tag = uuid.uuid4().hex[:6]
    names = [f"podstart-{tag}-{i}" for i in range(nodes)]
    block = f"127.{random.randrange(100, 250)}.{random.randrange(1, 250)}"
    root = Path(tempfile.mkdtemp(prefix="tugboat-podstart-"))
    etcd = start_etcd(1)
    server: ApiServerProcess | None = None
    components: Components | None = None
    try:
        server = ApiServerProcess.start(etcd.endpoints, name=f"podstart-{tag}")
        components = Components(server.endpoint, etcd, root)
        for i, name in enumerate(names):
            components.docker_kubelet(name, address=f"{block}.{i + 2}")
        components.scheduler()
        components.controller_manager(f"cm-{tag}")
        async with ApiClient([server.endpoint]) as api:

            async def up() -> bool:
                return await _ready_nodes(api) >= nodes

            await wait_for(up, 90, f"{nodes} nodes Ready")
            # Warm-up: leader election, informers and the image lookup, not counted.
            await tugboat_round(api, names, f"warmup-{tag}", 1)
            meter = CpuMeter(
                {
                    "kubelet": [p.process.pid for p in components.started if "kubelet" in p.name],
                    "apiserver": [server.process.pid] if server.process is not None else [],
                    "etcd": [m.process.pid for m in etcd.members if m.process is not None],
                    "scheduler+controllers": [
                        p.process.pid for p in components.started if "kubelet" not in p.name
                    ],
                    "engine": engine_pids(),
                }
            )
            yield api, names, meter
    except BaseException:
        # The components' logs go with them: their last lines are the clue.
        for proc in components.started if components is not None else []:
            tail = "\n    ".join(proc.logs().splitlines()[-8:])
            print(f"--- {proc.name} (last lines)\n    {tail}", file=sys.stderr)
        raise
    finally:
        if components is not None:
            components.stop()
        if server is not None:
            server.stop()
        etcd.stop()
        for name in names:
            remove_by_label(f"{LABEL_NODE}={name}")
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Window:
    """The rounds measured while one cluster was up: Tugboat's, raw's and Swarm's."""

    nodes: int
    tugboat: list[Round] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    swarm: list[float] = field(default_factory=list)
    cpu: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    """"tugboat", "raw", "swarm" -> each round's CPU seconds by process group."""


async def window(nodes: int, count: int, rounds: int, with_swarm: bool) -> Window:
    """`rounds` rounds of `count` pods on a fresh cluster of `nodes` nodes, each followed by
    a round of parallel `docker run` and one of Swarm: the three alternate, so a change in
    the machine's load (it is shared) falls on all three alike, and each ratio compares
    rounds of the same minutes."""
    out = Window(nodes)
    async with cluster(nodes) as (api, names, meter):
        for r in range(rounds):
            with meter.measure(out.cpu.setdefault("tugboat", [])):
                done = await tugboat_round(api, names, f"bench-{r}", count)
            out.tugboat.append(done)
            with meter.measure(out.cpu.setdefault("raw", [])):
                out.raw.append(await asyncio.to_thread(raw_round, count))
            if with_swarm:
                with meter.measure(out.cpu.setdefault("swarm", [])):
                    out.swarm.append(await asyncio.to_thread(swarm_round, count))
            shown = f"  {nodes} node(s) round {r + 1}: tugboat {done.total():.2f}s"
            shown += f", docker run {out.raw[-1]:.2f}s"
            if with_swarm:
                shown += f", swarm {out.swarm[-1]:.2f}s"
            print(shown, flush=True)
    return out


# -- report ------------------------------------------------------------------------------


def previous() -> dict[str, Any]:
    """The figures and date of the last recorded run, if any."""
    try:
        data = json.loads(RESULT.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("figures"), dict) else {}


def line(label: str, rounds: list[float]) -> float:
    m = median(rounds)
    shown = " ".join(f"{r:.2f}" for r in rounds)
    print(f"{label}: median {m:.2f}s (rounds {shown})")
    return m


def cpu_report(w: Window) -> None:
    """Median CPU seconds per round by process group: who competed with the engine.
    (Worded so that bench/run.py, which reads figures from this output, skips it.)"""
    nodes = "1 node" if w.nodes == 1 else f"{w.nodes} nodes"
    print(f"cpu seconds per round, {nodes} (median; the engine is dockerd + containerd):")
    for what, rounds in w.cpu.items():
        groups = {"tugboat": list(rounds[0]) if rounds else [], "raw": ["engine", "docker CLI"]}
        shown = ", ".join(
            f"{g} {median([r[g] for r in rounds]):.1f}"
            for g in groups.get(what, ["engine"])
            if g != "docker CLI" or what == "raw"
        )
        print(f"    {what}: {shown}")


def phase_report(rounds: list[Round], nodes: str = "1 node", indent: str = "  ") -> None:
    """Median seconds per phase over every pod of every round, and when the last got there.
    bench/run.py reads the 1-node figures from the lines indented by two spaces; other
    breakdowns are indented further, so that they do not overwrite those."""
    print(
        f"phase breakdown, {nodes} ({sum(len(r.pods) for r in rounds)} pods, {len(rounds)} rounds):"
    )
    print(f"{indent}{'phase':<42}{'median':>8}{'p90':>8}{'last pod at':>13}{'n':>6}")
    for label, start, end in PHASES:
        spans: list[float] = []
        lasts: list[float] = []
        for r in rounds:
            ends = []
            for m in r.pods.values():
                at = {"applied": r.applied, "replicaset": r.replicaset, **m.at}
                if at.get(start) and at.get(end):
                    spans.append(at[end] - at[start])
                    ends.append(at[end] - r.applied)
            if ends:
                lasts.append(max(ends))
        if start == "applied":  # one ReplicaSet per round, not one per pod
            spans = [r.replicaset - r.applied for r in rounds if r.replicaset]
            lasts = spans
        if not spans:
            print(f"{indent}{label:<42}{'-':>8}")
            continue
        p90 = statistics.quantiles(spans, n=10)[-1] if len(spans) > 1 else spans[0]
        print(
            f"{indent}{label:<42}{median(spans):>7.2f}s{p90:>7.2f}s"
            f"{median(lasts):>12.2f}s{len(spans):>6}"
        )
    per_pod = [
        m.at["running"] - r.applied for r in rounds for m in r.pods.values() if "running" in m.at
    ]
    print(f"{indent}{'apply -> Running, per pod':<42}{median(per_pod):>7.2f}s")


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--pods", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--skip-swarm", action="store_true", help="do not measure Docker Swarm")
    a = p.parse_args()

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)  # so that every finally runs and cleans up

    networks = set(docker_cli("network", "ls", "--format", "{{.Name}}").split())
    try:
        measure(a.pods, a.rounds, a.skip_swarm)
    finally:
        # The kubelets make the pod bridge (kubelet/network/bridge.py) when it is missing:
        # removed again if this run made it and no container (anyone's) is still on it.
        if POD_NETWORK not in networks:
            attached = docker_cli(
                "network", "inspect", POD_NETWORK, "--format", "{{len .Containers}}", check=False
            ).strip()
            if attached == "0":
                docker_cli("network", "rm", POD_NETWORK, check=False)


def measure(pods: int, rounds: int, skip_swarm: bool) -> None:
    """Every measurement, then the figures."""
    before = previous()
    print(f"pod start: {pods} pods of {IMAGE}, {rounds} rounds each", flush=True)
    state = "" if skip_swarm else swarm_state()
    with swarm() if state == "inactive" else contextlib.nullcontext():
        windows = [
            asyncio.run(window(nodes, pods, rounds, state == "inactive")) for nodes in (1, 3)
        ]

    print()
    for w in windows:
        nodes = "1 node" if w.nodes == 1 else f"{w.nodes} nodes"
        tug = line(f"tugboat {nodes}", [r.total() for r in w.tugboat])
        raw = line(f"docker run -d x{pods} (parallel, CLI), {nodes} window", w.raw)
        swarm_label = f"docker swarm service --replicas {pods}, {nodes} window"
        swarm_m = line(swarm_label, w.swarm) if w.swarm else 0.0
        print(f"ratio tugboat/raw {nodes}: {tug / raw:.2f}")
        if swarm_m:
            print(f"ratio tugboat/swarm {nodes}: {tug / swarm_m:.2f}")
        # A pod is two containers (sandbox and app): the engine's pace tells whether
        # Tugboat waits on Docker or Docker on Tugboat.
        print(
            f"containers started per second, {nodes}: tugboat {2 * pods / tug:.2f} "
            f"(sandbox + app), docker run {pods / raw:.2f}"
        )
    if skip_swarm:
        print("docker swarm: skipped (--skip-swarm)")
    elif state != "inactive":
        print(f"docker swarm: skipped, this engine is already in a swarm ({state}): left alone")
    figures = before.get("figures", {})
    if figures:
        shown = ", ".join(f"{k} {v:g}" for k, v in figures.items() if not k.startswith("phase"))
        print(f"previous run ({before.get('when', '?')}): {shown}")
    else:
        print("previous run: none recorded")
    print()
    phase_report(windows[0].tugboat)
    for w in windows[1:]:
        print()
        phase_report(w.tugboat, f"{w.nodes} nodes", indent="    ")
    for w in windows:
        print()
        cpu_report(w)


if __name__ == "__main__":
    main()

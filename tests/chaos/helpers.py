"""What the chaos tests share: reading the cluster through the API, killing and restoring
its processes, and a client that keeps asking a service while things break."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import yaml

from cli.cluster import components
from cli.cluster.components import Component
from cli.cluster.layout import Layout
from cli.cluster.processes import alive
from client.api import ApiClient
from client.errors import ApiError
from client.timeouts import within
from proto import core_pb2, workloads_pb2
from tests.support.cluster import NODE_LABEL, Cluster, Result
from tests.support.waiting import eventually


def layout_of(cluster: Cluster) -> Layout:
    """The Layout `tug up` used for this cluster (ports, names, readiness checks)."""
    return Layout(
        cluster.name,
        cluster.base_port,
        cluster.masters,
        cluster.nodes,
        cluster.etcd_members,
        cluster.node_address,
        secure=(cluster.root / "auth" / "ca.crt").exists(),
        home=cluster.home,
    )


def component(cluster: Cluster, name: str) -> Component:
    """The component `tug up` started as `name` (its ports and readiness check)."""
    layout = layout_of(cluster)
    kind, _, index = name.rpartition("-")
    i = int(index)
    if kind == "etcd":
        return components.etcd(layout, "etcd", i)
    roles = {role.__name__.replace("_", "-"): role for role in components.MASTER_ROLES}
    roles.update({role.__name__: role for role in components.NODE_ROLES})
    return roles[kind](layout, i)


def master_processes(m: int) -> list[str]:
    """Every process of master m."""
    return [f"apiserver-{m}", f"scheduler-{m}", f"controller-manager-{m}"]


def node_processes(j: int) -> list[str]:
    """Every process of node j."""
    return [f"kubelet-{j}", f"proxy-{j}"]


async def kill(cluster: Cluster, *names: str, sig: signal.Signals = signal.SIGKILL) -> float:
    """Signal the named processes (by recorded PID); the monotonic time it was done."""
    for name in names:
        await asyncio.to_thread(cluster.kill, name, sig)
    return time.monotonic()


async def wait_ready(cluster: Cluster, name: str, timeout: float = 60) -> None:
    """Until the process `name` answers its readiness check."""
    check = component(cluster, name).ready
    await eventually(check, timeout=timeout, interval=0.1, what=f"{name} ready")


async def restart(cluster: Cluster, *names: str) -> None:
    """Start the named (dead) processes again and wait until they are ready."""
    for name in names:
        await asyncio.to_thread(cluster.restart, name)
    await asyncio.gather(*(wait_ready(cluster, n) for n in names))


async def restore(cluster: Cluster) -> None:
    """Resume stopped processes, restart dead ones, wait for all and for Ready nodes."""
    dead = []
    for r in cluster.records():
        if alive(r):
            with contextlib.suppress(ProcessLookupError):
                os.kill(r.pid, signal.SIGCONT)
        else:
            dead.append(r.name)
    if dead:
        # etcd and API servers before what depends on them.
        order = ("etcd", "apiserver", "scheduler", "controller-manager", "kubelet", "proxy")
        for kind in order:
            tier = [n for n in dead if n.rpartition("-")[0] == kind]
            if tier:
                await restart(cluster, *tier)
    async with cluster.client() as api:
        names = [cluster.node_name(j) for j in range(cluster.nodes)]
        await eventually(
            lambda: nodes_ready(api, names), timeout=60, interval=0.25, what="every node Ready"
        )


ELECTED = ("tug-scheduler", "tug-controller-manager")
"""The leader-elected components, each with a kube-system Lease mirroring its leader."""


async def holders(api: ApiClient) -> dict[str, str]:
    """Each elected component's leader, from its kube-system Lease."""
    out = {}
    for component in ELECTED:
        lease = await api.get("leases", "kube-system", component)
        assert isinstance(lease, workloads_pb2.Lease)
        out[component] = lease.spec.holder_identity
    return out


async def nodes_ready(api: ApiClient, names: list[str]) -> bool:
    """Whether every named Node reports Ready=True."""
    listed = await api.list("nodes")
    ready = {
        n.metadata.name
        for n in listed.items
        if isinstance(n, core_pb2.Node)
        and any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)
    }
    return set(names) <= ready


def is_ready(pod: core_pb2.Pod) -> bool:
    """Running, Ready and not being deleted."""
    return (
        pod.status.phase == "Running"
        and not pod.metadata.deletion_timestamp
        and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
    )


async def pods(api: ApiClient, selector: str, namespace: str = "default") -> list[core_pb2.Pod]:
    """The pods matching a label selector."""
    listed = await api.list("pods", namespace, label_selector=selector)
    return [p for p in listed.items if isinstance(p, core_pb2.Pod)]


async def ready_pods(api: ApiClient, selector: str) -> list[core_pb2.Pod]:
    """The ready pods matching a label selector; [] while the API does not answer."""
    try:
        return [p for p in await pods(api, selector) if is_ready(p)]
    except ApiError:
        return []


def web_app(name: str, replicas: int, node_port: int) -> str:
    """A Deployment of busybox httpd pods answering with their own name, and its NodePort
    Service, as YAML for `tug apply -f -`."""
    labels = {"app": name}
    script = 'mkdir -p /www && echo "$HOSTNAME" > /www/index.html && exec httpd -f -p 80 -h /www'
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "httpd",
                            "image": "busybox:1.35",
                            "command": ["sh", "-c", script],
                            "ports": [{"containerPort": 80}],
                            "readinessProbe": {
                                "httpGet": {"path": "/", "port": 80},
                                "periodSeconds": 1,
                            },
                        }
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "type": "NodePort",
            "selector": labels,
            "ports": [{"port": 80, "targetPort": 80, "nodePort": node_port}],
        },
    }
    return yaml.safe_dump_all([deployment, service])


async def tug(cluster: Cluster, *argv: str, stdin: str = "") -> Result:
    """`tug ARGV...` against the cluster, off the event loop."""
    return await asyncio.to_thread(cluster.tug, *argv, stdin=stdin)


async def deploy(cluster: Cluster, name: str, replicas: int, node_port: int) -> None:
    """Apply a web Deployment and its NodePort Service; wait for the rollout."""
    (await tug(cluster, "apply", "-f", "-", stdin=web_app(name, replicas, node_port))).ok()
    (await tug(cluster, "rollout", "status", f"deployment/{name}", "--timeout", "120")).ok()


async def undeploy(cluster: Cluster, name: str) -> None:
    """Delete what `deploy` made and its pods."""
    await tug(cluster, "delete", "deployment,service", name, "--ignore-not-found")
    await tug(cluster, "delete", "pods", "-l", f"app={name}", "--grace-period", "0",
              "--ignore-not-found")  # fmt: skip


def running_containers(cluster: Cluster) -> list[tuple[str, str, str]]:
    """(pod uid, pod name, node) of every running app container of the cluster's nodes."""
    fmt = (
        '{{.Label "io.tugboat.pod.uid"}} {{.Label "io.tugboat.pod.name"}} '
        '{{.Label "' + NODE_LABEL + '"}} {{.Label "io.tugboat.kind"}}'
    )
    done = subprocess.run(
        ["docker", "ps", "--filter", f"label={NODE_LABEL}", "--format", fmt],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    ours = {cluster.node_name(j) for j in range(cluster.nodes)}
    out = []
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in ours and parts[3] != "sandbox":
            out.append((parts[0], parts[1], parts[2]))
    return out


@dataclass
class Prober:
    """Asks a URL every `interval` seconds (one request at a time), counting answers."""

    url: str
    interval: float = 0.1
    ok: int = 0
    failed: int = 0
    answers: list[tuple[float, bool]] = field(default_factory=list)

    def _get(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=1.0) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    async def run(self, stop: asyncio.Event, limit: float = 180) -> None:
        """Until `stop` is set (or `limit` seconds pass)."""
        deadline = time.monotonic() + limit
        while not stop.is_set() and time.monotonic() < deadline:
            good = await asyncio.to_thread(self._get)
            self.answers.append((time.monotonic(), good))
            if good:
                self.ok += 1
            else:
                self.failed += 1
            with contextlib.suppress(TimeoutError):
                await within(stop.wait(), self.interval)

    def between(self, start: float, end: float) -> tuple[int, int]:
        """(answered, failed) among the requests sent between two monotonic times."""
        window = [good for at, good in self.answers if start <= at <= end]
        return sum(window), len(window) - sum(window)

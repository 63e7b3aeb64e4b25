"""Controller benchmarks on a whole simulated cluster, every component a process.

    .venv/bin/python -m bench.controllers_cluster rollout [--replicas 1000] [--nodes 100]
    .venv/bin/python -m bench.controllers_cluster node-death [--replicas 30] [--kubernetes-timings]

Starts its own etcd, one `tug-apiserver`, `tug-scheduler`, `tug-controller-manager` and
fake-runtime kubelets (`tug-kubelet --runtime fake --simulate N`), each a separate process
(the benchmark's client shares no event loop with them), and stops them all by PID.

- rollout: a large Deployment, time to all Running, then time for a rolling update;
- node-death: the kubelet process of one node is SIGKILLed; time until its pods run
  elsewhere, with Tugboat's defaults (node-monitor-grace-period 8 s, tolerationSeconds
  2 s) and, with --kubernetes-timings, Kubernetes' (40 s and 300 s: about six minutes).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from client.api import ApiClient
from client.codec import from_dict
from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.processes import Components
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import start_etcd


@dataclass
class Bench:
    """A running benchmark cluster."""

    api: ApiClient
    components: Components
    server: ApiServerProcess


@asynccontextmanager
async def bench_cluster(apiserver_flags: Sequence[str] = ()) -> AsyncIterator[Bench]:
    """etcd + API server process + component processes started by the caller; all
    stopped, and the kubelets' directory removed, when it ends, also on failure."""
    # Undone in reverse, each step even when one before it raised: a component that
    # would not stop must not leave the directory, the API server or etcd behind.
    with ExitStack() as undo:
        etcd = start_etcd(1)
        undo.callback(etcd.stop)
        server = ApiServerProcess.start(
            etcd.endpoints, name="bench-apiserver", extra_args=apiserver_flags
        )
        undo.callback(server.stop)
        root = Path(tempfile.mkdtemp(prefix="tugboat-bench-"))
        undo.callback(shutil.rmtree, root, ignore_errors=True)
        components = Components(server.endpoint, etcd, root)
        undo.callback(components.stop)  # first out: the kubelets write in the directory
        async with ApiClient([server.endpoint]) as api:
            yield Bench(api, components, server)


async def wait(
    check: Callable[[], Awaitable[bool]], *, limit: float, what: str, interval: float = 0.5
) -> float:
    """Seconds until `check` holds; RuntimeError after `limit` seconds."""
    start = time.monotonic()
    # Bounded by `limit`.
    while time.monotonic() - start < limit:
        if await check():
            return time.monotonic() - start
        await asyncio.sleep(interval)
    raise RuntimeError(f"gave up after {limit:.0f} s waiting for {what}")


def node_ready(node: core_pb2.Node) -> bool:
    c = cu.get_condition(node.status.conditions, "Ready")
    return c is not None and c.status == "True"


def pod_running(pod: core_pb2.Pod, image: str = "") -> bool:
    """Active, Running and ready (with `image` when given)."""
    if not cu.is_pod_active(pod) or pod.status.phase != "Running" or not cu.is_pod_ready(pod):
        return False
    return not image or pod.spec.containers[0].image == image


async def ready_nodes(api: ApiClient) -> int:
    """Nodes whose Ready condition is True."""
    page = await api.list("nodes")
    return sum(node_ready(n) for n in page.items if isinstance(n, core_pb2.Node))


async def running_pods(api: ApiClient, app: str, image: str = "") -> int:
    """Active, Running, ready pods of `app` (with `image` when given)."""
    page = await api.list("pods", "default", label_selector=f"app={app}")
    return sum(pod_running(p, image) for p in page.items if isinstance(p, core_pb2.Pod))


def deployment(name: str, replicas: int) -> workloads_pb2.Deployment:
    """A busybox Deployment (maxSurge 25%, maxUnavailable 25%: Kubernetes' defaults)."""
    spec: dict[str, object] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.35"}]},
        },
    }
    return from_dict(
        workloads_pb2.Deployment,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        },
    )


async def rollout(replicas: int, nodes: int, limit: float) -> None:
    async with bench_cluster() as b:
        b.components.kubelets("sim", nodes)
        b.components.scheduler()
        b.components.controller_manager("cm-bench")

        async def nodes_up() -> bool:
            return await ready_nodes(b.api) >= nodes

        took = await wait(nodes_up, limit=limit, what=f"{nodes} nodes Ready")
        print(f"{nodes} simulated nodes Ready in {took:.1f} s")

        await b.api.create(deployment("bench", replicas))

        async def all_running() -> bool:
            return await running_pods(b.api, "bench") >= replicas

        took = await wait(all_running, limit=limit, what=f"{replicas} pods Running")
        print(f"{replicas} replicas Running in {took:.1f} s ({replicas / took:.0f} pods/s)")

        d = await b.api.get("deployments", "default", "bench")
        assert isinstance(d, workloads_pb2.Deployment)
        d.spec.template.spec.containers[0].image = "busybox:1.36"
        await b.api.update(d)

        async def rolled() -> bool:
            current = await b.api.get("deployments", "default", "bench")
            assert isinstance(current, workloads_pb2.Deployment)
            s = current.status
            return (
                s.observed_generation >= current.metadata.generation
                and s.updated_replicas == replicas
                and s.replicas == replicas
                and s.available_replicas == replicas
            )

        took = await wait(rolled, limit=limit, what="the rolling update")
        print(
            f"rolling update of {replicas} replicas (maxSurge 25%, maxUnavailable 25%): "
            f"{took:.1f} s"
        )


async def measure(replicas: int, grace: float, toleration: int | None, limit: float) -> float:
    # The pods' tolerations come from the API server's defaults, as users would get them.
    flags = (
        []
        if toleration is None
        else [
            "--default-unreachable-toleration", str(toleration),
            "--default-not-ready-toleration", str(toleration),
        ]
    )  # fmt: skip
    async with bench_cluster(flags) as b:
        b.components.kubelets("keep", 3)
        doomed = b.components.kubelets("doomed", 1)
        b.components.scheduler()
        b.components.controller_manager("cm-bench", "--node-monitor-grace-period", str(grace))

        async def nodes_up() -> bool:
            return await ready_nodes(b.api) >= 4

        await wait(nodes_up, limit=60, what="4 nodes Ready")
        await b.api.create(deployment("victims", replicas))

        async def all_running() -> bool:
            return await running_pods(b.api, "victims") >= replicas

        await wait(all_running, limit=limit, what="pods Running")
        page = await b.api.list("pods", "default")
        lost = {
            p.metadata.name
            for p in page.items
            if isinstance(p, core_pb2.Pod) and p.spec.node_name == "doomed"
        }
        doomed.kill()
        killed = time.monotonic()

        async def replaced() -> bool:
            page = await b.api.list("pods", "default")
            names = {p.metadata.name for p in page.items if not p.metadata.deletion_timestamp}
            return not lost & names and await running_pods(b.api, "victims") >= replicas

        await wait(replaced, limit=limit, what="replacements Running", interval=0.2)
        took = time.monotonic() - killed
        print(f"  {len(lost)} of {replicas} pods were on the dead node")
        return took


async def node_death(replicas: int, kubernetes: bool, limit: float) -> None:
    ours = await measure(replicas, 8.0, None, limit)
    print(f"node death -> pods Running elsewhere, Tugboat defaults (8 s + 2 s): {ours:.1f} s")
    if kubernetes:
        theirs = await measure(replicas, 40.0, 300, limit)
        print(
            f"node death -> pods Running elsewhere, Kubernetes defaults (40 s + 300 s): "
            f"{theirs:.1f} s ({theirs / ours:.0f}x)"
        )


def main() -> None:
    """Parse the mode and run it."""
    p = argparse.ArgumentParser(description="Controller benchmarks on a simulated cluster.")
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("rollout", help="a large Deployment: all Running, then rolled")
    r.add_argument("--replicas", type=int, default=1000)
    r.add_argument("--nodes", type=int, default=100)
    r.add_argument("--limit", type=float, default=900.0, help="give up after this many s")
    n = sub.add_parser("node-death", help="a node dies: time until its pods run elsewhere")
    n.add_argument("--replicas", type=int, default=30)
    n.add_argument("--kubernetes-timings", action="store_true", help="also 40 s + 300 s")
    n.add_argument("--limit", type=float, default=600.0, help="give up after this many s")
    a = p.parse_args()
    if a.mode == "rollout":
        asyncio.run(rollout(a.replicas, a.nodes, a.limit))
    else:
        asyncio.run(node_death(a.replicas, a.kubernetes_timings, a.limit))


if __name__ == "__main__":
    main()

"""Self-fencing on real Docker: a paused kubelet never leaves a pod running twice.

Three `tug-kubelet` processes share this machine's Docker engine, each with its own
loopback address and node name, with a real scheduler and controller manager (the
controllers' process helpers). One kubelet is SIGSTOPped past the grace period, then
SIGCONTed. Meanwhile a sampler polls Docker every ~100 ms and records any moment at which
two running app containers of the same pod name sit on two different nodes; the test
itself plays a StatefulSet, recreating pod `db-0` under the same name as soon as the old
one is gone, so a kubelet that let go of a pod before its containers stopped would show
up as a duplicate.

Quicker checks on simulated (fake-runtime) nodes: a kubelet whose node the controller
marked Unknown posts Ready again, and the controller then lifts the taints; a kubelet cut
off from its API server (killed) stops its pods while still cut off, and once back kills
the pod deleted meanwhile before restarting the one still bound to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import docker
import pytest

from client.api import ApiClient
from client.errors import AlreadyExists, NotFound
from kubelet.fencing import FenceSettings, Link
from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import (
    LABEL_KIND,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerInfo,
)
from master.controllers import controller_utils as cu
from proto import core_pb2
from tests.integration.controllers.conftest import fetch_all, manifest, wait_for
from tests.integration.controllers.processes import Components, components  # noqa: F401
from tests.integration.controllers.test_deployment import deployment, rolled_out
from tests.integration.controllers.test_real_components import nodes_ready
from tests.integration.kubelet.conftest import FAST_PODS
from tests.integration.kubelet.pods import container, pod
from tests.support.ports import free_port

GRACE = 3
"""Node-monitor grace period of the controller and fence grace of the kubelets, seconds."""


class DockerSampler:
    """Polls Docker for the running app containers of some nodes; notes pods on two nodes."""

    def __init__(self, nodes: set[str], period: float = 0.1) -> None:
        self.nodes = nodes
        self.period = period
        self.samples = 0
        self.twice: list[tuple[str, set[str]]] = []
        """(namespace/name, nodes) for every sample with a pod running on two nodes."""
        self._client = docker.from_env()
        self._task: asyncio.Task[None] | None = None

    def running(self) -> list[dict[str, str]]:
        """The labels of every running app container of the sampled nodes (blocking)."""
        found = self._client.api.containers(
            filters={"label": [f"{LABEL_KIND}=app"], "status": "running"}
        )
        return [c["Labels"] for c in found if c["Labels"].get(LABEL_NODE) in self.nodes]

    def sample(self) -> None:
        by_pod: dict[str, set[str]] = {}
        for labels in self.running():
            pod = f"{labels[LABEL_POD_NAMESPACE]}/{labels[LABEL_POD_NAME]}"
            by_pod.setdefault(pod, set()).add(labels[LABEL_NODE])
        self.samples += 1
        self.twice.extend((pod, nodes) for pod, nodes in by_pod.items() if len(nodes) > 1)

    async def _run(self) -> None:
        # Runs until cancelled by __aexit__; each round is one Docker call.
        while True:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(self.period)

    async def __aenter__(self) -> DockerSampler:
        await asyncio.to_thread(self.sample)
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._client.close()


def db_pod(name: str) -> core_pb2.Pod:
    """A bare pod that sleeps; killed 1 s after SIGTERM."""
    pod = manifest(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "db"}},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {"name": "main", "image": "busybox:1.35", "command": ["sleep", "3600"]}
                ],
            },
        }
    )
    assert isinstance(pod, core_pb2.Pod)
    return pod


@asynccontextmanager
async def stateful(api: ApiClient, name: str) -> AsyncIterator[list[float]]:
    """Recreate pod `name` under the same name whenever it is gone, as a StatefulSet does.

    Yields the list of times (monotonic) at which it was recreated.
    """
    recreated: list[float] = []

    async def keep() -> None:
        # Runs until cancelled on exit; one GET per round.
        while True:
            try:
                await api.get("pods", "default", name)
            except NotFound:
                with contextlib.suppress(AlreadyExists):
                    await api.create(db_pod(name))
                    recreated.append(time.monotonic())
            await asyncio.sleep(0.2)

    task = asyncio.create_task(keep())
    try:
        yield recreated
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def node(api: ApiClient, name: str) -> core_pb2.Node:
    got = await api.get("nodes", "", name)
    assert isinstance(got, core_pb2.Node)
    return got


def ready(n: core_pb2.Node) -> str:
    cond = cu.get_condition(n.status.conditions, "Ready")
    return cond.status if cond is not None else ""


def condition_taints(n: core_pb2.Node) -> set[str]:
    keys = ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")
    return {f"{t.key}:{t.effect}" for t in n.spec.taints if t.key in keys}


@pytest.mark.docker
async def test_a_paused_kubelet_fences_itself_and_no_pod_ever_runs_on_two_nodes(
    api: ApiClient,
    components: Components,  # noqa: F811
) -> None:
    tag = uuid.uuid4().hex[:6]
    paused_name, a_name, b_name = f"fz-p-{tag}", f"fz-a-{tag}", f"fz-b-{tag}"
    fencing = ("--node-fence-grace-period", str(GRACE), "--reconnect-kill-after", "2")
    paused = components.docker_kubelet(paused_name, *fencing, address="127.0.0.2")
    components.scheduler()
    components.controller_manager("cm-1", "--node-monitor-grace-period", str(GRACE))
    await wait_for(lambda: nodes_ready(api, {paused_name}), timeout=60, what="the first node")

    # Everything starts on the node that will be paused: it is the only one.
    web = deployment("web", 3)
    web.spec.template.spec.containers[0].command[:] = ["sleep", "3600"]
    web.spec.template.spec.termination_grace_period_seconds = 1
    await api.create(web)
    await api.create(db_pod("db-0"))
    await api.create(db_pod("loner"))

    async def all_running_on_paused() -> bool:
        pods = await fetch_all(api, core_pb2.Pod)
        return len(pods) == 5 and all(
            p.spec.node_name == paused_name and p.status.phase == "Running" for p in pods
        )

    await wait_for(lambda: rolled_out(api, "web", 3), timeout=90, what="web rolled out")
    await wait_for(all_running_on_paused, timeout=60, what="5 pods running on the first node")
    loner = next(p for p in await fetch_all(api, core_pb2.Pod) if p.metadata.name == "loner")

    components.docker_kubelet(a_name, *fencing, address="127.0.0.3")
    components.docker_kubelet(b_name, *fencing, address="127.0.0.4")
    await wait_for(
        lambda: nodes_ready(api, {paused_name, a_name, b_name}), timeout=60, what="3 nodes"
    )

    async with DockerSampler({paused_name, a_name, b_name}) as sampler:
        paused.signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        # Gone behind the paused kubelet's back: on reconnecting it must kill it.
        await api.delete("pods", "default", "loner", grace_period_seconds=0)

        async with stateful(api, "db-0") as recreated:

            async def unreachable() -> bool:
                n = await node(api, paused_name)
                return ready(n) == "Unknown" and "node.kubernetes.io/unreachable:NoExecute" in (
                    condition_taints(n)
                )

            await wait_for(unreachable, timeout=30, what="the paused node tainted unreachable")

            async def web_replaced() -> bool:
                pods = await fetch_all(api, core_pb2.Pod)
                return 3 == sum(
                    1
                    for p in pods
                    if p.metadata.labels.get("app") == "web"
                    and cu.is_pod_active(p)
                    and cu.is_pod_ready(p)
                    and p.spec.node_name != paused_name
                )

            await wait_for(web_replaced, timeout=60, what="web replaced on the other nodes")
            assert not recreated, "db-0 was let go while its node was paused"
            paused.signal(signal.SIGCONT)
            resumed_at = time.monotonic()
            print(f"\npaused for {resumed_at - stopped_at:.1f} s")

            async def ready_again() -> bool:
                n = await node(api, paused_name)
                return ready(n) == "True" and not condition_taints(n)

            await wait_for(ready_again, timeout=30, what="Ready=True and the taints removed")
            print(f"Ready again, untainted, {time.monotonic() - resumed_at:.1f} s after SIGCONT")

            async def db_running_again() -> bool:
                pods = await fetch_all(api, core_pb2.Pod)
                return bool(recreated) and any(
                    p.metadata.name == "db-0"
                    and p.status.phase == "Running"
                    and not p.metadata.deletion_timestamp
                    for p in pods
                )

            await wait_for(db_running_again, timeout=60, what="db-0 recreated and running")

        async def only_bound_pods_on_resumed_node() -> bool:
            pods = await fetch_all(api, core_pb2.Pod)
            bound = {p.metadata.uid for p in pods if p.spec.node_name == paused_name}
            running = await asyncio.to_thread(sampler.running)
            mine = {c[LABEL_POD_UID] for c in running if c[LABEL_NODE] == paused_name}
            return mine <= bound and loner.metadata.uid not in mine

        await wait_for(
            only_bound_pods_on_resumed_node, timeout=30, what="only bound pods on the resumed node"
        )
        # A few more samples after the end state, to catch a late restart.
        seen = sampler.samples
        await wait_for(lambda: sampler.samples >= seen + 10, timeout=10, what="more samples")

    print(f"{sampler.samples} Docker samples; db-0 recreated {len(recreated)} time(s)")
    assert sampler.twice == []
    logs = paused.logs()
    assert "stopping this node's pods" in logs
    assert "reconnected" in logs


async def test_a_resumed_kubelet_posts_ready_again_and_its_taints_are_lifted(
    api: ApiClient,
    components: Components,  # noqa: F811
) -> None:
    components.kubelets("steady", 1)
    pausing = components.kubelets("pausing", 1)
    components.controller_manager("cm-1", "--node-monitor-grace-period", "2")
    await wait_for(lambda: nodes_ready(api, {"steady", "pausing"}), timeout=60, what="2 nodes")
    pausing.signal(signal.SIGSTOP)

    async def unreachable() -> bool:
        n = await node(api, "pausing")
        return ready(n) == "Unknown" and condition_taints(n) == {
            "node.kubernetes.io/unreachable:NoExecute",
            "node.kubernetes.io/unreachable:NoSchedule",
        }

    await wait_for(unreachable, timeout=30, what="the paused node Unknown and tainted")
    pausing.signal(signal.SIGCONT)
    resumed_at = time.monotonic()

    async def ready_again() -> bool:
        n = await node(api, "pausing")
        return ready(n) == "True" and not condition_taints(n)

    await wait_for(ready_again, timeout=30, what="Ready=True again and the taints lifted")
    print(f"\nReady and untainted {time.monotonic() - resumed_at:.1f} s after SIGCONT")
    n = await node(api, "pausing")
    cond = cu.get_condition(n.status.conditions, "Ready")
    assert cond is not None and cond.reason == "KubeletReady"


async def test_a_kubelet_cut_off_from_the_api_stops_its_pods_and_on_return_kills_the_unbound(
    apiserver_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cut = apiserver_factory.start_process(name="cut")
    other = apiserver_factory.start_process(name="other")
    name = f"fz-cut-{uuid.uuid4().hex[:6]}"
    runtime = FakeRuntime(name, start_delay=0.1)
    kubelet_api = ApiClient([cut.endpoint])
    config = KubeletConfig(
        node_name=name,
        address="127.0.0.1",
        port=free_port("127.0.0.1"),
        root_dir=tmp_path / name,
        lease_period=0.5,
        relist_period=0.5,
        pods=FAST_PODS,
        fencing=FenceSettings(fence_after=2.0, reconnect_kill_after=1.0),
    )
    kubelet = Kubelet(config, kubelet_api, runtime)
    pod_lists: list[tuple[str, str]] = []
    """The resourceVersion and match of every list of pods the kubelet makes."""
    real_list = kubelet_api.list

    async def recording_list(resource: str, namespace: str = "", **kw: Any) -> Any:
        if resource == "pods":
            pod_lists.append((kw.get("resource_version", ""), kw.get("resource_version_match", "")))
        return await real_list(resource, namespace, **kw)

    monkeypatch.setattr(kubelet_api, "list", recording_list)
    async with ApiClient([other.endpoint]) as api:
        try:
            await kubelet.start()
            for pod_name in ("kept", "unbound"):
                await api.create(pod(pod_name, name, container("main", "sleep", "3600")))

            async def apps() -> dict[str, list[ContainerInfo]]:
                found: dict[str, list[ContainerInfo]] = {}
                for c in await runtime.list_containers():
                    if c.kind == "app":
                        found.setdefault(c.pod.name, []).append(c)
                return found

            async def both_running() -> bool:
                found = await apps()
                return all(any(c.running for c in found.get(n, [])) for n in ("kept", "unbound"))

            await wait_for(both_running, timeout=30, what="both pods running")

            cut.kill()
            cut_at = time.monotonic()
            lists_before_the_cut = len(pod_lists)

            async def stopped() -> bool:
                return not any(c.running for cs in (await apps()).values() for c in cs)

            await wait_for(stopped, timeout=20, what="the cut-off kubelet stopping its pods")
            print(f"\ncut off -> pods stopped after {time.monotonic() - cut_at:.1f} s (grace 2 s)")
            assert kubelet.fence.fenced
            # Deleted through another API server while this kubelet cannot hear of it.
            await api.delete("pods", "default", "unbound", grace_period_seconds=0)

            cut.launch()
            await asyncio.to_thread(cut.wait_ready)

            async def back() -> bool:
                found = await apps()
                return (
                    kubelet.fence.link is Link.CONNECTED
                    and any(c.running for c in found.get("kept", []))
                    and not any(c.running for c in found.get("unbound", []))
                )

            await wait_for(back, timeout=30, what="reconnected, kept running again, unbound dead")
            # Back, the kubelet listed its pods not older than its renewed Lease (from the
            # API server's cache) and watched on from that list, without a list of its own.
            since_the_cut = pod_lists[lists_before_the_cut:]
            assert since_the_cut
            assert all(version and match == "NotOlderThan" for version, match in since_the_cut)
            kept = await api.get("pods", "default", "kept")
            assert isinstance(kept, core_pb2.Pod)

            async def restart_reported() -> bool:
                got = await api.get("pods", "default", "kept")
                assert isinstance(got, core_pb2.Pod)
                return got.status.phase == "Running" and any(
                    s.restart_count == 1 and s.state.HasField("running")
                    for s in got.status.container_statuses
                )

            await wait_for(restart_reported, timeout=20, what="kept Running after one restart")
        finally:
            await kubelet.stop()
            await runtime.close()
            await kubelet_api.close()

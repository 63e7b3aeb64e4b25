"""The controllers as `tug-controller-manager` processes with the real scheduler and kubelets.

Simulated (fake-runtime) kubelets keep these fast; the checks are the issue's: a rolling
update sampled at every watch event while the leading controller manager is killed, a
node whose kubelet is killed, and a kubelet paused past the grace period.
"""

from __future__ import annotations

import signal
import time

from client.api import ApiClient
from client.errors import NotFound
from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, wait_for
from tests.integration.controllers.processes import Components
from tests.integration.controllers.test_deployment import (
    PodSampler,
    deployment,
    rolled_out,
    set_image,
)


async def nodes_ready(api: ApiClient, names: set[str]) -> bool:
    nodes = {n.metadata.name: n for n in await fetch_all(api, core_pb2.Node)}
    return names <= set(nodes) and all(
        (c := cu.get_condition(nodes[n].status.conditions, "Ready")) is not None
        and c.status == "True"
        for n in names
    )


async def leader(api: ApiClient) -> str:
    try:
        lease = await fetch(api, workloads_pb2.Lease, "tug-controller-manager", "kube-system")
    except NotFound:
        return ""
    return lease.spec.holder_identity


async def test_killing_the_leading_controller_manager_mid_rollout_keeps_the_bounds(
    api: ApiClient, components: Components
) -> None:
    components.kubelets("sim", 3)
    components.scheduler()
    managers = {name: components.controller_manager(name) for name in ("cm-1", "cm-2")}
    await wait_for(lambda: nodes_ready(api, {"sim-0", "sim-1", "sim-2"}), what="3 nodes")

    async def elected() -> bool:
        return bool(await leader(api))

    await wait_for(elected, what="a leading controller manager")
    await api.create(deployment("web", 10, surge=1, unavailable=0))
    await wait_for(lambda: rolled_out(api, "web", 10), timeout=60, what="first rollout")

    async with PodSampler(api, "web") as sampler:
        seen: set[str] = set()
        await set_image(api, "web", "busybox:1.36")

        async def some_updated() -> bool:
            d = await fetch(api, workloads_pb2.Deployment, "web")
            return d.status.updated_replicas >= 3

        await wait_for(some_updated, timeout=60, what="rollout under way")
        first = await leader(api)
        managers[first].kill()
        killed = time.monotonic()

        async def taken_over() -> bool:
            return await leader(api) not in ("", first)

        await wait_for(taken_over, timeout=30, what="the other controller manager leading")
        await wait_for(lambda: rolled_out(api, "web", 10), timeout=90, what="rollout finished")
        seen = set(sampler.names)
    print(
        f"\nrollout done {time.monotonic() - killed:.1f} s after the leader was killed; samples="
        f"{sampler.samples} min_available={sampler.min_available} max_total={sampler.max_total}"
    )
    assert sampler.min_available >= 10
    assert sampler.max_total <= 11
    # 10 pods of the old template existed before; exactly 10 new ones were made.
    assert len(seen) == 20, sorted(seen)
    live = [p for p in await fetch_all(api, core_pb2.Pod) if cu.is_pod_active(p)]
    assert len(live) == 10
    assert {p.spec.containers[0].image for p in live} == {"busybox:1.36"}


async def test_a_killed_node_has_its_pods_replaced_on_the_other_nodes(
    api: ApiClient, components: Components
) -> None:
    components.kubelets("keep", 2)
    doomed = components.kubelets("doomed", 1)
    components.scheduler()
    components.controller_manager("cm-1")
    await wait_for(lambda: nodes_ready(api, {"keep-0", "keep-1", "doomed"}), what="3 nodes")
    await api.create(deployment("web", 6))
    await wait_for(lambda: rolled_out(api, "web", 6), timeout=60, what="rolled out")
    pods = await fetch_all(api, core_pb2.Pod)
    lost = {p.metadata.name for p in pods if p.spec.node_name == "doomed"}
    assert lost, "the scheduler put nothing on the doomed node"

    doomed.kill()
    killed = time.monotonic()

    async def replaced() -> bool:
        pods = [p for p in await fetch_all(api, core_pb2.Pod) if cu.is_pod_active(p)]
        running = [
            p
            for p in pods
            if p.status.phase == "Running" and cu.is_pod_ready(p) and p.spec.node_name != "doomed"
        ]
        return len(running) == 6 and not lost & {p.metadata.name for p in pods}

    await wait_for(replaced, timeout=60, interval=0.1, what="replacements running")
    print(
        f"\nnode killed -> {len(lost)} pods replaced and running elsewhere in "
        f"{time.monotonic() - killed:.1f} s (grace 8 s + toleration 2 s by default)"
    )


async def test_a_paused_kubelet_never_leaves_a_pod_running_twice_and_keeps_only_its_pods(
    api: ApiClient, components: Components
) -> None:
    components.kubelets("keep", 2)
    paused = components.kubelets("paused", 1)
    components.scheduler()
    components.controller_manager("cm-1", "--node-monitor-grace-period", "3")
    await wait_for(lambda: nodes_ready(api, {"keep-0", "keep-1", "paused"}), what="3 nodes")
    await api.create(deployment("web", 6))
    await wait_for(lambda: rolled_out(api, "web", 6), timeout=60, what="rolled out")
    async with PodSampler(api, "web") as sampler:
        before = {p.metadata.name for p in sampler.pods.values() if p.spec.node_name == "paused"}
        assert before
        paused.signal(signal.SIGSTOP)

        async def replaced() -> bool:
            running = [
                p
                for p in sampler.pods.values()
                if cu.is_pod_active(p) and p.spec.node_name != "paused" and cu.is_pod_ready(p)
            ]
            return len(running) == 6

        await wait_for(replaced, timeout=60, what="replacements while the kubelet is paused")
        paused.signal(signal.SIGCONT)

        async def cleaned_up() -> bool:
            return not any(p.spec.node_name == "paused" for p in sampler.pods.values())

        await wait_for(cleaned_up, timeout=60, what="the resumed node let its evicted pods go")
    assert sampler.twice == []
    assert sampler.max_total <= 6 + len(before)

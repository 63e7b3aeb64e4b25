"""The rollout and node-death checks once more, on nodes running real Docker containers."""

from __future__ import annotations

import time
import uuid

import pytest

from client.api import ApiClient
from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch_all, wait_for
from tests.integration.controllers.processes import Components, remove_node_containers
from tests.integration.controllers.test_deployment import (
    PodSampler,
    deployment,
    modify,
    rolled_out,
)
from tests.integration.controllers.test_real_components import nodes_ready

pytestmark = pytest.mark.docker


async def test_on_docker_a_rolling_update_keeps_its_bounds_and_a_dead_node_is_replaced(
    api: ApiClient, components: Components
) -> None:
    tag = uuid.uuid4().hex[:6]
    keep, doomed_name = f"ctl-keep-{tag}", f"ctl-doomed-{tag}"
    components.docker_kubelet(keep)
    doomed = components.docker_kubelet(doomed_name)
    components.scheduler()
    components.controller_manager("cm-1", "--node-monitor-grace-period", "4")
    await wait_for(lambda: nodes_ready(api, {keep, doomed_name}), timeout=60, what="2 nodes")
    d = deployment("web", 4, surge=1, unavailable=0)
    d.spec.template.spec.containers[0].command[:] = ["sleep", "3600"]
    d.spec.template.spec.termination_grace_period_seconds = 1
    await api.create(d)
    await wait_for(lambda: rolled_out(api, "web", 4), timeout=120, what="first rollout")

    async with PodSampler(api, "web") as sampler:

        def new_command(d: workloads_pb2.Deployment) -> None:
            d.spec.template.spec.containers[0].command[:] = ["sleep", "3601"]

        await modify(api, "web", new_command)
        await wait_for(lambda: rolled_out(api, "web", 4), timeout=120, what="second rollout")
    print(f"\ndocker rollout: min_available={sampler.min_available} max_total={sampler.max_total}")
    assert sampler.min_available >= 4
    assert sampler.max_total <= 5

    pods = await fetch_all(api, core_pb2.Pod)
    lost = {p.metadata.name for p in pods if p.spec.node_name == doomed_name}
    doomed.kill()
    remove_node_containers(doomed_name)  # the machine is gone, its containers with it
    killed = time.monotonic()

    async def replaced() -> bool:
        pods = [p for p in await fetch_all(api, core_pb2.Pod) if cu.is_pod_active(p)]
        running = [p for p in pods if p.spec.node_name == keep and p.status.phase == "Running"]
        return len(running) == 4 and not lost & {p.metadata.name for p in pods}

    await wait_for(replaced, timeout=120, interval=0.2, what="replacements running on docker")
    print(
        f"docker node killed -> {len(lost)} pods running elsewhere in "
        f"{time.monotonic() - killed:.1f} s (grace 4 s + toleration 2 s)"
    )

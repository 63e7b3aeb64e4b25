"""Deployments: rolling updates within maxSurge/maxUnavailable, deadlines, undo, Recreate."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from client.api import ApiClient
from client.errors import Conflict
from client.timeouts import within
from master.controllers import controller_utils as cu
from master.controllers import deployment_util as du
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import (
    fetch,
    fetch_all,
    manifest,
    pod_template,
    wait_for,
)


def deployment(
    name: str,
    replicas: int,
    *,
    surge: int | str = 1,
    unavailable: int | str = 0,
    image: str = "busybox:1.35",
    strategy: str = "RollingUpdate",
    deadline: int | None = None,
) -> Any:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": pod_template({"app": name}, image),
        "strategy": {"type": strategy},
    }
    if strategy == "RollingUpdate":
        spec["strategy"]["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    return manifest(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }
    )


class PodSampler:
    """Counts pods at every watch event: available (ready, not terminating) and total."""

    def __init__(self, api: ApiClient, app: str) -> None:
        self.api = api
        self.app = app
        self.pods: dict[str, core_pb2.Pod] = {}
        self.min_available = 10**9
        self.max_total = 0
        self.samples = 0
        self.names: set[str] = set()
        """Every pod name ever seen."""
        self.twice: list[str] = []
        """Pod names seen Running on two nodes at once (must stay empty)."""
        self._task: asyncio.Task[None] | None = None
        self.started = asyncio.Event()

    def counts(self) -> tuple[int, int]:
        live = [p for p in self.pods.values() if cu.is_pod_active(p)]
        return sum(1 for p in live if cu.is_pod_ready(p)), len(live)

    async def _run(self) -> None:
        page = await self.api.list("pods", "default", label_selector=f"app={self.app}")
        for p in page.items:
            assert isinstance(p, core_pb2.Pod)
            self.pods[p.metadata.name] = p
            self.names.add(p.metadata.name)
        self.started.set()
        async for ev in self.api.watch(
            "pods",
            "default",
            resource_version=page.resource_version,
            label_selector=f"app={self.app}",
        ):
            if not isinstance(ev.object, core_pb2.Pod):
                continue
            if ev.type == "DELETED":
                self.pods.pop(ev.object.metadata.name, None)
            else:
                self.pods[ev.object.metadata.name] = ev.object
                self.names.add(ev.object.metadata.name)
            running: dict[str, str] = {}
            for p in self.pods.values():
                if p.status.phase == "Running" and not p.metadata.deletion_timestamp:
                    node = running.setdefault(p.metadata.name, p.spec.node_name)
                    if node != p.spec.node_name:
                        self.twice.append(p.metadata.name)
            available, total = self.counts()
            self.samples += 1
            self.min_available = min(self.min_available, available)
            self.max_total = max(self.max_total, total)

    async def __aenter__(self) -> PodSampler:
        self._task = asyncio.create_task(self._run())
        await within(self.started.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def status_of(api: ApiClient, name: str) -> workloads_pb2.Deployment:
    return await fetch(api, workloads_pb2.Deployment, name)


async def replica_sets(
    api: ApiClient, d: workloads_pb2.Deployment
) -> list[workloads_pb2.ReplicaSet]:
    items = await fetch_all(api, workloads_pb2.ReplicaSet)
    return [rs for rs in items if cu.controller_uid(rs) == d.metadata.uid]


async def rolled_out(api: ApiClient, name: str, replicas: int) -> bool:
    d = await status_of(api, name)
    s = d.status
    return (
        s.observed_generation == d.metadata.generation
        and s.updated_replicas == replicas
        and s.replicas == replicas
        and s.available_replicas == replicas
    )


async def modify(
    api: ApiClient, name: str, change: Callable[[workloads_pb2.Deployment], object]
) -> None:
    """Read, change, write; again on Conflict (the controller writes the Deployment too)."""
    for _ in range(10):
        d = await status_of(api, name)
        change(d)
        try:
            await api.update(d)
            return
        except Conflict:
            continue
    raise AssertionError(f"deployment {name} kept changing")


async def set_image(api: ApiClient, name: str, image: str) -> None:
    def change(d: workloads_pb2.Deployment) -> None:
        d.spec.template.spec.containers[0].image = image

    await modify(api, name, change)


def replicas(n: int) -> Callable[[workloads_pb2.Deployment], None]:
    def change(d: workloads_pb2.Deployment) -> None:
        d.spec.replicas = n

    return change


async def test_a_rolling_update_never_drops_below_replicas_nor_exceeds_replicas_plus_surge(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1", "n2", "n3"])
    await manager.start()
    await api.create(deployment("web", 10, surge=1, unavailable=0))
    await wait_for(lambda: rolled_out(api, "web", 10), timeout=30, what="first rollout")
    first = {rs.metadata.name for rs in await replica_sets(api, await status_of(api, "web"))}
    async with PodSampler(api, "web") as sampler:
        await set_image(api, "web", "busybox:1.36")
        await wait_for(lambda: rolled_out(api, "web", 10), timeout=60, what="second rollout")
    print(
        f"\nsamples={sampler.samples} min_available={sampler.min_available} "
        f"max_total={sampler.max_total}"
    )
    assert sampler.samples > 20
    assert sampler.min_available >= 10
    assert sampler.max_total <= 11
    d = await status_of(api, "web")
    rss = await replica_sets(api, d)
    (old,) = [rs for rs in rss if rs.metadata.name in first]
    (new,) = [rs for rs in rss if rs.metadata.name not in first]
    assert old.spec.replicas == 0
    assert new.spec.replicas == 10
    assert new.metadata.annotations[du.REVISION] == "2"
    assert d.metadata.annotations[du.REVISION] == "2"
    assert new.metadata.name == f"web-{new.spec.template.metadata.labels[du.POD_TEMPLATE_HASH]}"
    pods = [p for p in await fetch_all(api, core_pb2.Pod) if cu.is_pod_active(p)]
    assert len(pods) == 10
    assert all(p.spec.containers[0].image == "busybox:1.36" for p in pods)


async def test_a_rollout_of_pods_that_never_get_ready_stalls_and_misses_its_deadline(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1", "n2"], ready=lambda p: p.spec.containers[0].image != "broken:1")
    await manager.start()
    await api.create(deployment("web", 4, surge=1, unavailable=1, deadline=3))
    await wait_for(lambda: rolled_out(api, "web", 4), timeout=30, what="first rollout")
    async with PodSampler(api, "web") as sampler:
        await set_image(api, "web", "broken:1")

        async def timed_out() -> bool:
            d = await status_of(api, "web")
            cond = cu.get_condition(d.status.conditions, "Progressing")
            return cond is not None and cond.reason == du.TIMED_OUT and cond.status == "False"

        await wait_for(timed_out, timeout=30, what="ProgressDeadlineExceeded")
    assert sampler.min_available >= 3
    assert sampler.max_total <= 5
    d = await status_of(api, "web")
    assert d.status.available_replicas == 3
    available = cu.get_condition(d.status.conditions, "Available")
    assert available is not None and available.status == "True"


async def test_recreate_stops_every_old_pod_before_starting_new_ones(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start()
    await api.create(deployment("db", 3, strategy="Recreate"))
    await wait_for(lambda: rolled_out(api, "db", 3), timeout=30, what="first rollout")
    async with PodSampler(api, "db") as sampler:
        mixed = False

        async def watch_mix() -> bool:
            nonlocal mixed
            images = {p.spec.containers[0].image for p in sampler.pods.values()}
            mixed = mixed or len(images) > 1
            return await rolled_out(api, "db", 3)

        await set_image(api, "db", "busybox:1.36")
        await wait_for(watch_mix, timeout=30, interval=0.01, what="recreated")
    assert sampler.min_available == 0
    assert not mixed


async def test_scaling_a_deployment_scales_its_replica_set(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start()
    await api.create(deployment("web", 2))
    await wait_for(lambda: rolled_out(api, "web", 2), timeout=30, what="2 replicas")
    await modify(api, "web", replicas(5))
    await wait_for(lambda: rolled_out(api, "web", 5), timeout=30, what="5 replicas")
    await modify(api, "web", replicas(1))
    await wait_for(lambda: rolled_out(api, "web", 1), timeout=30, what="1 replica")
    assert len(await replica_sets(api, await status_of(api, "web"))) == 1


async def test_scaling_a_stuck_rollout_adds_replicas_to_old_and_new_in_proportion(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1", "n2"], ready=lambda p: p.spec.containers[0].image != "broken:1")
    await manager.start()
    await api.create(deployment("web", 10, surge=3, unavailable=2))
    await wait_for(lambda: rolled_out(api, "web", 10), what="first rollout")
    await set_image(api, "web", "broken:1")

    async def sizes() -> dict[str, int]:
        d = await status_of(api, "web")
        return {
            rs.spec.template.spec.containers[0].image: rs.spec.replicas
            for rs in await replica_sets(api, d)
        }

    async def stuck() -> bool:
        return await sizes() == {"busybox:1.35": 8, "broken:1": 5}

    await wait_for(stuck, what="old 8, new 5 (10 - 2 unavailable, 10 + 3 surge)")
    await modify(api, "web", replicas(15))

    async def spread() -> bool:
        return await sizes() == {"busybox:1.35": 11, "broken:1": 7}

    await wait_for(spread, what="3 more old and 2 more new replicas")

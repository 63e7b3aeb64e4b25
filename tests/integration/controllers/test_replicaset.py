"""ReplicaSet: replicas kept, orphans adopted, misfits released, least advanced deleted first."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.errors import Conflict
from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import (
    fetch,
    fetch_all,
    manifest,
    pod_template,
    wait_for,
)


def replica_set(name: str, replicas: int, labels: dict[str, str]) -> workloads_pb2.ReplicaSet:
    rs = manifest(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": pod_template(labels),
            },
        }
    )
    assert isinstance(rs, workloads_pb2.ReplicaSet)
    return rs


async def owned_pods(api: ApiClient, rs: workloads_pb2.ReplicaSet) -> list[core_pb2.Pod]:
    pods = await fetch_all(api, core_pb2.Pod)
    return [p for p in pods if cu.controller_uid(p) == rs.metadata.uid and cu.is_pod_active(p)]


async def test_a_replicaset_creates_its_pods_and_reports_them_ready(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1", "n2"])
    await manager.start()
    rs = await api.create(replica_set("web", 5, {"app": "web"}))

    async def ready() -> bool:
        current = await fetch(api, workloads_pb2.ReplicaSet, "web")
        s = current.status
        return (s.replicas, s.ready_replicas, s.available_replicas, s.fully_labeled_replicas) == (
            5,
            5,
            5,
            5,
        ) and s.observed_generation == current.metadata.generation

    await wait_for(ready, timeout=20, what="5 ready replicas")
    pods = await owned_pods(api, rs)
    assert len(pods) == 5
    assert all(p.metadata.name.startswith("web-") for p in pods)
    events = await fetch_all(api, core_pb2.Event)
    assert any(e.reason == "SuccessfulCreate" for e in events)


async def test_scaling_down_deletes_unscheduled_and_not_ready_pods_first(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    # Pods named *-slow stay not ready; a pod for node "nowhere" is never scheduled.
    sim = await simulator(["n1"], ready=lambda p: p.metadata.labels.get("slow") != "yes")
    await manager.start()
    rs = await api.create(replica_set("web", 3, {"app": "web"}))
    await wait_for(lambda: _ready_count(api, "web", 3), timeout=20, what="3 ready replicas")
    # An orphan that matches is adopted, and is then the least advanced pod.
    sim.paused = True
    orphan = core_pb2.Pod(api_version="v1", kind="Pod")
    orphan.metadata.name = "orphan"
    orphan.metadata.namespace = "default"
    orphan.metadata.labels.update({"app": "web", "slow": "yes"})
    orphan.spec.containers.add(name="main", image="busybox:1.35")
    await api.create(orphan)

    async def adopted_and_trimmed() -> bool:
        pods = await owned_pods(api, rs)
        names = {p.metadata.name for p in pods}
        return len(pods) == 3 and "orphan" not in names

    await wait_for(adopted_and_trimmed, timeout=20, what="orphan adopted then deleted first")
    sim.paused = False


async def test_a_pod_whose_labels_stop_matching_is_released_and_replaced(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start()
    rs = await api.create(replica_set("web", 2, {"app": "web"}))
    await wait_for(lambda: _ready_count(api, "web", 2), timeout=20, what="2 ready")
    name = (await owned_pods(api, rs))[0].metadata.name
    for _ in range(10):  # the simulator writes the pod's status meanwhile
        pod = await fetch(api, core_pb2.Pod, name)
        pod.metadata.labels["app"] = "other"
        try:
            await api.update(pod)
            break
        except Conflict:
            continue

    async def released() -> bool:
        p = await fetch(api, core_pb2.Pod, name)
        return not p.metadata.owner_references and len(await owned_pods(api, rs)) == 2

    await wait_for(released, timeout=20, what="pod released and replaced")


async def _ready_count(api: ApiClient, name: str, n: int) -> bool:
    rs = await fetch(api, workloads_pb2.ReplicaSet, name)
    return rs.status.ready_replicas == n and rs.status.replicas == n

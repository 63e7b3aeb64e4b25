"""Cascading deletion (background, foreground, orphan) and namespace deletion."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.errors import NotFound
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, manifest, wait_for
from tests.integration.controllers.test_deployment import deployment, rolled_out


async def gone(api: ApiClient, resource: str, name: str, namespace: str = "default") -> bool:
    try:
        await api.get(resource, namespace, name)
    except NotFound:
        return True
    return False


async def test_background_deletion_removes_the_replica_sets_and_pods_afterwards(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start()
    await api.create(deployment("web", 3))
    await wait_for(lambda: rolled_out(api, "web", 3), what="rolled out")
    await api.delete("deployments", "default", "web", propagation_policy="Background")
    assert await gone(api, "deployments", "web")

    async def cascaded() -> bool:
        rss = await fetch_all(api, workloads_pb2.ReplicaSet)
        pods = await fetch_all(api, core_pb2.Pod)
        return not rss and not pods

    await wait_for(cascaded, what="replica sets and pods collected")


async def test_foreground_deletion_keeps_the_owner_until_its_dependents_are_gone(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    sim = await simulator(["n1"])
    await manager.start()
    await api.create(deployment("web", 3))
    await wait_for(lambda: rolled_out(api, "web", 3), what="rolled out")
    sim.paused = True  # the "kubelet" does not confirm pod deletions for now
    await api.delete("deployments", "default", "web", propagation_policy="Foreground")

    async def pods_terminating() -> bool:
        pods = await fetch_all(api, core_pb2.Pod)
        return len(pods) == 3 and all(p.metadata.deletion_timestamp for p in pods)

    await wait_for(pods_terminating, what="pods marked for deletion")
    d = await fetch(api, workloads_pb2.Deployment, "web")
    assert d.metadata.deletion_timestamp
    assert list(d.metadata.finalizers) == ["foregroundDeletion"]
    (rs,) = await fetch_all(api, workloads_pb2.ReplicaSet)
    assert rs.metadata.deletion_timestamp

    sim.paused = False
    sim.poke()
    await wait_for(lambda: gone(api, "deployments", "web"), what="deployment gone")
    assert await fetch_all(api, core_pb2.Pod) == []
    assert await fetch_all(api, workloads_pb2.ReplicaSet) == []


async def test_orphan_deletion_leaves_the_dependents_without_their_owner(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start()
    await api.create(deployment("web", 2))
    await wait_for(lambda: rolled_out(api, "web", 2), what="rolled out")
    await api.delete("deployments", "default", "web", propagation_policy="Orphan")
    await wait_for(lambda: gone(api, "deployments", "web"), what="deployment gone")
    (rs,) = await fetch_all(api, workloads_pb2.ReplicaSet)
    assert list(rs.metadata.owner_references) == []
    pods = await fetch_all(api, core_pb2.Pod)
    assert len(pods) == 2
    assert all(p.metadata.owner_references[0].uid == rs.metadata.uid for p in pods)
    assert not any(p.metadata.deletion_timestamp for p in pods)


async def test_deleting_a_namespace_deletes_everything_in_it_then_the_namespace(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start()
    await api.create(
        manifest({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    )
    d = deployment("web", 2)
    d.metadata.namespace = "team"
    await api.create(d)
    await api.create(
        manifest(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "team"},
                "data": {"a": "b"},
            }
        )
    )

    async def running() -> bool:
        pods = (await api.list("pods", "team")).items
        return len(pods) == 2 and all(p.status.phase == "Running" for p in pods)  # type: ignore[union-attr]

    await wait_for(running, what="pods running in team")
    await api.delete("namespaces", "", "team")
    await wait_for(lambda: gone(api, "namespaces", "team", ""), timeout=30, what="namespace gone")
    for resource in ("pods", "replicasets", "deployments", "configmaps", "events"):
        assert (await api.list(resource, "team")).items == [], resource

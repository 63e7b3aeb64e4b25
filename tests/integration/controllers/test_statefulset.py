"""StatefulSets on a real API server: order, identity, scale-down, updates and history.

The pod simulator plays scheduler and kubelet; its `ready` rule holds pods unready so a
test can show the controller waiting for a predecessor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY

from client.api import ApiClient
from client.errors import Conflict, NotFound
from master.controllers import controller_utils as cu
from master.controllers import statefulset
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, manifest, wait_for
from tests.integration.controllers.test_rollout_cli import cli


def stateful_set(name: str = "web", replicas: int = 3, **spec: Any) -> Any:
    return manifest(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "serviceName": "nginx",
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]},
                },
                **spec,
            },
        }
    )


async def members(api: ApiClient, name: str = "web") -> dict[str, core_pb2.Pod]:
    pods = await fetch_all(api, core_pb2.Pod)
    return {
        p.metadata.name: p
        for p in pods
        if p.metadata.labels.get("app") == name and not p.metadata.deletion_timestamp
    }


async def names_are(api: ApiClient, wanted: set[str], what: str, name: str = "web") -> None:
    async def reached() -> bool:
        return set(await members(api, name)) == wanted

    await wait_for(reached, what=what)


async def modify(api: ApiClient, change: Callable[[workloads_pb2.StatefulSet], object]) -> None:
    """Read, change, write; again on Conflict (the controller writes the set's status)."""
    for _ in range(10):
        sts = await fetch(api, workloads_pb2.StatefulSet, "web")
        change(sts)
        try:
            await api.update(sts)
            return
        except Conflict:
            continue
    raise AssertionError("statefulset web kept changing")


def syncs() -> float:
    return (
        REGISTRY.get_sample_value(
            "tugboat_controller_sync_duration_seconds_count", {"controller": "statefulset"}
        )
        or 0.0
    )


async def looked_again(api: ApiClient) -> None:
    """Make the controller look at the set again (an annotation it ignores changes), and
    wait until it has: what it does not do by then, it does not do for this state."""
    before = syncs()
    stamp = str(before)
    await modify(api, lambda sts: sts.metadata.annotations.__setitem__("test/poke", stamp))
    await wait_for(lambda: syncs() >= before + 1, what="a sync of the statefulset controller")


async def test_ordered_ready_starts_each_pod_only_after_its_predecessor_is_ready(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    allowed: set[str] = set()
    sim = await simulator(["n1", "n2"], ready=lambda pod: pod.metadata.name in allowed)
    await manager.start(controllers=("statefulset",))
    await api.create(stateful_set())
    await names_are(api, {"web-0"}, "web-0 made first")
    await looked_again(api)
    assert set(await members(api)) == {"web-0"}, "web-1 must wait for web-0 to be ready"
    allowed.add("web-0")
    sim.poke()
    await names_are(api, {"web-0", "web-1"}, "web-1 once web-0 is ready")
    allowed.update({"web-1", "web-2"})
    sim.poke()
    await names_are(api, {"web-0", "web-1", "web-2"}, "web-2 once web-1 is ready")
    pods = await members(api)
    for ordinal in range(3):
        pod = pods[f"web-{ordinal}"]
        assert (pod.spec.hostname, pod.spec.subdomain) == (f"web-{ordinal}", "nginx")
        assert pod.metadata.labels[statefulset.POD_INDEX_LABEL] == str(ordinal)
        assert pod.metadata.labels[statefulset.POD_NAME_LABEL] == f"web-{ordinal}"

    async def all_ready() -> bool:
        sts = await fetch(api, workloads_pb2.StatefulSet, "web")
        return sts.status.ready_replicas == 3 and sts.status.replicas == 3

    await wait_for(all_ready, what="status: 3 ready")
    manager.check()


async def test_parallel_management_starts_every_pod_at_once(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"], ready=lambda pod: False)
    await manager.start(controllers=("statefulset",))
    await api.create(stateful_set(replicas=3, podManagementPolicy="Parallel"))
    await names_are(api, {"web-0", "web-1", "web-2"}, "all three without waiting for readiness")
    manager.check()


async def test_scaling_down_removes_the_highest_ordinal_first(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1", "n2"])
    await manager.start(controllers=("statefulset",))
    await api.create(stateful_set(replicas=3))
    await names_are(api, {"web-0", "web-1", "web-2"}, "three pods")
    await modify(api, lambda sts: setattr(sts.spec, "replicas", 1))
    seen: list[set[str]] = []

    async def shrunk() -> bool:
        now = set(await members(api))
        if not seen or seen[-1] != now:
            seen.append(now)
        return now == {"web-0"}

    await wait_for(shrunk, what="down to web-0")
    # web-2 leaves before web-1: no observed state holds web-2 without web-1.
    assert all(not ("web-2" in s and "web-1" not in s) for s in seen), seen
    manager.check()


async def test_a_deleted_pod_comes_back_under_the_same_name(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(controllers=("statefulset",))
    await api.create(stateful_set(replicas=2))
    await names_are(api, {"web-0", "web-1"}, "two pods")
    old = (await members(api))["web-1"]
    await api.delete("pods", "default", "web-1")

    async def replaced() -> bool:
        pod = (await members(api)).get("web-1")
        return pod is not None and pod.metadata.uid != old.metadata.uid

    await wait_for(replaced, what="web-1 made again")
    manager.check()


async def set_image(api: ApiClient, image: str, **strategy: Any) -> None:
    def change(sts: workloads_pb2.StatefulSet) -> None:
        sts.spec.template.spec.containers[0].image = image
        for field, value in strategy.items():
            setattr(sts.spec.update_strategy.rolling_update, field, value)

    await modify(api, change)


async def images(api: ApiClient) -> dict[str, str]:
    return {n: p.spec.containers[0].image for n, p in (await members(api)).items()}


async def test_a_rolling_update_replaces_pods_from_the_top_down_to_the_partition(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1", "n2"])
    await manager.start(controllers=("statefulset",))
    await api.create(stateful_set(replicas=3))
    await names_are(api, {"web-0", "web-1", "web-2"}, "three pods")
    await set_image(api, "nginx:1.16.1", partition=1)
    wanted = {"web-0": "nginx:1.14.2", "web-1": "nginx:1.16.1", "web-2": "nginx:1.16.1"}

    async def partitioned() -> bool:
        return await images(api) == wanted

    await wait_for(partitioned, what="ordinals 1 and 2 updated, 0 kept below the partition")
    await looked_again(api)
    assert (await images(api))["web-0"] == "nginx:1.14.2"
    await modify(api, lambda sts: setattr(sts.spec.update_strategy.rolling_update, "partition", 0))

    async def everyone() -> bool:
        return set((await images(api)).values()) == {"nginx:1.16.1"} and len(await images(api)) == 3

    await wait_for(everyone, what="web-0 updated once the partition is 0")

    async def finished() -> bool:
        s = await fetch(api, workloads_pb2.StatefulSet, "web")
        return s.status.current_revision == s.status.update_revision and (
            s.status.updated_replicas == 3
        )

    await wait_for(finished, what="currentRevision caught up with updateRevision")
    revisions = [
        r
        for r in await fetch_all(api, workloads_pb2.ControllerRevision)
        if (cu.controller_ref(r) or core_pb2.ObjectReference()).name == "web"
    ]
    assert sorted(r.revision for r in revisions) == [1, 2]
    manager.check()


async def test_on_delete_changes_a_pod_only_when_it_is_deleted(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(controllers=("statefulset",))
    await api.create(stateful_set(replicas=2, updateStrategy={"type": "OnDelete"}))
    await names_are(api, {"web-0", "web-1"}, "two pods")
    await set_image(api, "nginx:1.16.1")
    await looked_again(api)
    assert set((await images(api)).values()) == {"nginx:1.14.2"}
    await api.delete("pods", "default", "web-1")

    async def only_the_deleted_one_changed() -> bool:
        return await images(api) == {"web-0": "nginx:1.14.2", "web-1": "nginx:1.16.1"}

    await wait_for(only_the_deleted_one_changed, what="web-1 remade at the new revision")
    manager.check()


async def test_a_pod_whose_name_is_still_taken_is_not_made_twice(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    # The simulator never confirms deletions on n9, a node that died: web-0 stays
    # Terminating, and its replacement must wait for the name, never run beside it.
    sim = await simulator(["n1"])
    await manager.start(controllers=("statefulset",))
    await api.create(stateful_set(replicas=1))

    async def running_on_n1() -> bool:
        found = (await members(api)).get("web-0")
        return found is not None and found.status.phase == "Running"

    # Bound first: a pod on no node yet is deleted at once, as in Kubernetes (a loaded
    # CI run deleted it before the simulator had placed it, and saw it made again).
    await wait_for(running_on_n1, what="web-0 running on n1")
    sim.nodes.remove("n1")
    pod = (await members(api))["web-0"]
    await api.delete("pods", "default", "web-0")
    await looked_again(api)
    still = await api.get("pods", "default", "web-0")
    assert still.metadata.uid == pod.metadata.uid and still.metadata.deletion_timestamp
    sim.nodes.append("n1")
    sim.poke()

    async def replaced() -> bool:
        try:
            now = await api.get("pods", "default", "web-0")
        except NotFound:
            return False
        return now.metadata.uid != pod.metadata.uid

    await wait_for(replaced, what="web-0 made again once the old one was gone")
    manager.check()


async def test_rollout_status_history_and_undo_follow_a_stateful_sets_revisions(
    api: ApiClient, apiserver: Any, manager: Any, simulator: Any
) -> None:
    server = apiserver.endpoint
    await simulator(["n1", "n2"])
    await manager.start(controllers=("statefulset",))
    await api.create(stateful_set(replicas=2))
    code, out, _ = await cli(server, "rollout", "status", "sts/web", "--timeout", "30")
    assert code == 0, out
    assert out.splitlines()[-1].startswith("statefulset rolling update complete 2 pods at revision")
    code, out, _ = await cli(server, "set", "image", "sts/web", "nginx=nginx:1.16.1")
    assert (code, out.strip()) == (0, "statefulset.apps/web image updated")
    code, out, _ = await cli(server, "rollout", "status", "sts/web", "--timeout", "30")
    assert code == 0, out
    assert set((await images(api)).values()) == {"nginx:1.16.1"}
    code, out, _ = await cli(server, "rollout", "history", "sts/web")
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["1", "2"], out
    code, out, _ = await cli(server, "rollout", "history", "sts/web", "--revision", "1")
    assert "image: nginx:1.14.2" in out
    code, out, _ = await cli(server, "rollout", "undo", "sts/web")
    assert (code, out.strip()) == (0, "statefulset.apps/web rolled back")
    code, out, _ = await cli(server, "rollout", "status", "sts/web", "--timeout", "30")
    assert code == 0, out

    async def back() -> bool:
        return set((await images(api)).values()) == {"nginx:1.14.2"}

    await wait_for(back, what="the pods back at the first template")
    # The old template is the newest revision now, as a rollback is in Kubernetes.
    code, out, _ = await cli(server, "rollout", "history", "sts/web")
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["2", "3"], out
    code, _, err = await cli(server, "rollout", "pause", "sts/web")
    assert code == 1 and "statefulsets are not supported here" in err
    manager.check()


CLAIM = {
    "metadata": {"name": "www"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}


async def claim_names(api: ApiClient) -> set[str]:
    listed = await api.list("persistentvolumeclaims", "default")
    return {c.metadata.name for c in listed.items}


async def test_claims_follow_the_retention_policy_when_scaled_down_and_when_the_set_goes(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(controllers=("statefulset", "garbagecollector", "pvc-protection"))
    await api.create(
        stateful_set(
            replicas=2,
            volumeClaimTemplates=[CLAIM],
            persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"},
        )
    )
    await names_are(api, {"web-0", "web-1"}, "two pods")

    async def claims_are(wanted: set[str]) -> bool:
        return await claim_names(api) == wanted

    await wait_for(lambda: claims_are({"www-web-0", "www-web-1"}), what="a claim per ordinal")
    # whenScaled: Delete — the condemned ordinal's claim goes with its pod.
    await modify(api, lambda sts: setattr(sts.spec, "replicas", 1))
    await wait_for(lambda: claims_are({"www-web-0"}), what="www-web-1 gone with web-1")
    # whenDeleted: Delete — the remaining claims go with the set.
    await api.delete("statefulsets", "default", "web")
    await wait_for(lambda: claims_are(set()), timeout=30, what="www-web-0 gone with the set")
    await names_are(api, set(), "the set's pods collected with it")
    manager.check()


async def test_claims_are_kept_by_default_when_scaled_down(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(controllers=("statefulset", "garbagecollector", "pvc-protection"))
    await api.create(stateful_set(replicas=2, volumeClaimTemplates=[CLAIM]))
    await names_are(api, {"web-0", "web-1"}, "two pods")
    await modify(api, lambda sts: setattr(sts.spec, "replicas", 1))
    await names_are(api, {"web-0"}, "web-1 gone")
    await looked_again(api)
    assert await claim_names(api) == {"www-web-0", "www-web-1"}
    manager.check()

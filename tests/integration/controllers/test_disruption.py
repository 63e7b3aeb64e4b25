"""PodDisruptionBudgets: the disruption controller keeps their status, and evictions
through the API spend it and are refused once it is spent."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2, policy_pb2, workloads_pb2
from tests.integration.apiserver.kubectl import Kubectl, write_kubeconfig
from tests.integration.cli.tugrun import run_tug
from tests.integration.controllers.conftest import ControllerManager
from tests.support.waiting import eventually


async def ready_pod(
    api: ApiClient, name: str, owner: dict[str, Any] | None = None, node: str = ""
) -> None:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "labels": {"app": "db"}}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    spec: dict[str, Any] = {"containers": [{"name": "db", "image": "busybox:1.35"}]}
    if node:
        spec["nodeName"] = node
    pod: Any = await api.create(from_dict(core_pb2.Pod, {"metadata": meta, "spec": spec}))
    pod.status.phase = "Running"
    pod.status.conditions.add(type="Ready", status="True")
    await api.update_status(pod)


def budget(name: str, spec: dict[str, Any]) -> policy_pb2.PodDisruptionBudget:
    spec = {"selector": {"matchLabels": {"app": "db"}}, **spec}
    meta = {"name": name, "namespace": "default"}
    return from_dict(policy_pb2.PodDisruptionBudget, {"metadata": meta, "spec": spec})


async def status_of(api: ApiClient, name: str) -> Any:
    return (await api.get("poddisruptionbudgets", "default", name)).status  # type: ignore[union-attr]


async def evict(apiserver: Any, name: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{apiserver.status.port}/api/v1/namespaces/default/pods/{name}/eviction"
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as answer:
        return answer.status, (await answer.json()).get("message", "")


async def test_evictions_spend_the_budget_and_are_refused_once_it_is_spent(
    api: ApiClient, manager: ControllerManager, apiserver: Any
) -> None:
    await manager.start(controllers=("disruption",))
    for name in ("db-0", "db-1", "db-2"):
        await ready_pod(api, name)
    await api.create(budget("db", {"minAvailable": 2}))

    async def allowed(n: int, healthy: int) -> bool:
        s = await status_of(api, "db")
        return (s.disruptions_allowed, s.current_healthy, s.desired_healthy) == (n, healthy, 2)

    await eventually(lambda: allowed(1, 3), what="one disruption allowed of three healthy")
    assert await evict(apiserver, "db-0") == (201, "")
    await eventually(lambda: allowed(0, 2), what="the budget spent")
    code, message = await evict(apiserver, "db-1")
    assert (code, message) == (
        429,
        "Cannot evict pod as it would violate the pod's disruption budget.",
    )
    assert (await api.get("pods", "default", "db-1")).metadata.name == "db-1"
    condition = (await status_of(api, "db")).conditions[0]
    assert (condition.type, condition.status, condition.reason) == (
        "DisruptionAllowed", "False", "InsufficientPods",
    )  # fmt: skip


async def test_an_evicted_pod_is_marked_as_a_disruption_target_while_it_stops(
    api: ApiClient, apiserver: Any
) -> None:
    await ready_pod(api, "db-0", node="n1")
    assert await evict(apiserver, "db-0") == (201, "")
    pod: Any = await api.get("pods", "default", "db-0")
    assert pod.metadata.deletion_timestamp, "a scheduled pod stops within its grace period"
    marks = [c for c in pod.status.conditions if c.type == "DisruptionTarget"]
    assert [(c.status, c.reason, c.message) for c in marks] == [
        ("True", "EvictionByEvictionAPI", "Eviction API: evicting")
    ]
    ready = [c.status for c in pod.status.conditions if c.type == "Ready"]
    assert ready == ["True"], "the eviction adds its condition and keeps the others"


async def test_a_percentage_is_taken_of_what_the_controllers_want_and_a_bare_pod_fails_it(
    api: ApiClient, manager: ControllerManager
) -> None:
    await manager.start(controllers=("disruption",))
    rs: Any = await api.create(from_dict(workloads_pb2.ReplicaSet, {
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}},
                              "spec": {"containers": [{"name": "db", "image": "busybox:1.35"}]}}},
    }))  # fmt: skip
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "db",
             "uid": rs.metadata.uid, "controller": True}  # fmt: skip
    for name in ("db-a", "db-b", "db-c"):
        await ready_pod(api, name, owner)
    await api.create(budget("db", {"maxUnavailable": "50%"}))

    async def counted() -> bool:
        s = await status_of(api, "db")
        return (s.expected_pods, s.desired_healthy, s.disruptions_allowed) == (4, 2, 1)

    await eventually(counted, what="4 expected by the ReplicaSet, 2 wanted healthy, 1 allowed")
    await ready_pod(api, "stray")

    async def failed() -> bool:
        s = await status_of(api, "db")
        c = s.conditions[0] if s.conditions else None
        return s.disruptions_allowed == 0 and c is not None and c.reason == "SyncFailed"

    await eventually(failed, what="a pod without a controller stopping disruptions")


async def three_pods_on_a_node_with_one_disruption_allowed(
    api: ApiClient, manager: ControllerManager
) -> None:
    """db-0..2 ready on node n1, a budget of minAvailable 2, its status written."""
    await manager.start(controllers=("disruption",))
    await api.create(from_dict(core_pb2.Node, {"metadata": {"name": "n1"}}))
    for name in ("db-0", "db-1", "db-2"):
        await ready_pod(api, name, node="n1")
    await api.create(budget("db", {"minAvailable": 2}))

    async def one_allowed() -> bool:
        return bool((await status_of(api, "db")).disruptions_allowed == 1)

    await eventually(one_allowed, what="one disruption allowed")


async def test_kubectl_drain_evicts_what_the_budget_allows_and_retries_the_rest(
    api: ApiClient, manager: ControllerManager, apiserver: Any, tmp_path: Any
) -> None:
    await three_pods_on_a_node_with_one_disruption_allowed(api, manager)
    server = f"http://127.0.0.1:{apiserver.status.port}"
    kubectl = Kubectl(write_kubeconfig(tmp_path / "kubeconfig", server), tmp_path / "cache")
    ran = await kubectl("drain", "n1", "--force", "--grace-period=0", "--timeout=8s", timeout=60)

    assert ran.code != 0, ran.err
    assert "Cannot evict pod as it would violate the pod's disruption budget." in ran.err, ran.err
    assert "(will retry after 5s)" in ran.err, ran.err
    left: Any = await api.list("pods", "default")
    assert len(left.items) == 2, [p.metadata.name for p in left.items]


async def test_tug_drain_evicts_what_the_budget_allows_and_retries_the_rest(
    api: ApiClient,
    manager: ControllerManager,
    apiserver: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUG_HOME", str(tmp_path / "tug-home"))
    monkeypatch.setenv("TUGCONFIG", str(tmp_path / "tug-home" / "config"))
    await three_pods_on_a_node_with_one_disruption_allowed(api, manager)
    ran = await run_tug(
        "drain", "n1", "--grace-period", "0", "--timeout", "7", "--server", apiserver.endpoint
    )

    assert ran.code == 1, ran.err
    refusal = (
        "(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget."
    )
    assert ran.err.count(refusal) == 4, ran.err  # two pods, tried twice each within 7 s
    assert "error: timed out after 7s evicting pods: " in ran.err, ran.err
    left: Any = await api.list("pods", "default")
    assert len(left.items) == 2, [p.metadata.name for p in left.items]

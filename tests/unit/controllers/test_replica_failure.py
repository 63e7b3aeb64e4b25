"""Pods the API refuses show as ReplicaFailure, as in Kubernetes: on the ReplicaSet
(FailedCreate or FailedDelete, with the API's message) until a sync's writes go through,
and from there on its Deployment, where `kubectl describe` shows why a rollout is stuck."""

from __future__ import annotations

import pytest

from client.errors import Forbidden
from master.controllers.deployment import DeploymentController
from master.controllers.replicaset import ReplicaSetController
from proto import meta_pb2, workloads_pb2
from tests.support.waiting import eventually
from tests.unit.controllers.memory_api import MemoryApi, synced
from tests.unit.controllers.workload_objects import NS, deployment, owned_set, pod, replica_set

QUOTA = (
    'pods "web-a-00001" is forbidden: exceeded quota: pods, requested: pods=1, '
    "used: pods=1, limited: pods=1"
)


def failure(obj: workloads_pb2.ReplicaSet | workloads_pb2.Deployment) -> meta_pb2.Condition | None:
    return next((c for c in obj.status.conditions if c.type == "ReplicaFailure"), None)


async def test_a_refused_pod_creation_is_reported_on_the_replicaset_until_one_succeeds() -> None:
    api = MemoryApi()
    rs = api.put(replica_set("web-a", 3))
    assert isinstance(rs, workloads_pb2.ReplicaSet)
    api.put(pod("web-a-1", rs, age=60))
    api.refuse["pods"] = Forbidden(QUOTA)

    async with synced(api, ReplicaSetController) as (controller, _):
        with pytest.raises(Forbidden):
            await controller.sync(f"{NS}/web-a")
        stored = api.stored("replicasets", NS, "web-a")
        cond = failure(stored)
        assert cond is not None
        assert (cond.status, cond.reason, cond.message) == ("True", "FailedCreate", QUOTA)
        assert stored.status.replicas == 1

        del api.refuse["pods"]
        await eventually(
            lambda: failure(controller.owners.get(f"{NS}/web-a")), what="the failure in the cache"
        )
        await controller.sync(f"{NS}/web-a")
    stored = api.stored("replicasets", NS, "web-a")
    assert failure(stored) is None
    assert len(api.names("pods")) == 3


async def test_the_deployment_shows_its_replicasets_failure_and_drops_it_once_cleared() -> None:
    api = MemoryApi()
    d = deployment(3)
    api.put(d)
    rs = owned_set(d, "web-a", 3)
    rs.status.replicas = rs.status.ready_replicas = rs.status.available_replicas = 1
    rs.status.conditions.append(
        meta_pb2.Condition(
            type="ReplicaFailure",
            status="True",
            reason="FailedCreate",
            message=QUOTA,
            last_transition_time="2026-01-01T00:00:00Z",
        )
    )
    api.put(rs)

    async with synced(api, DeploymentController) as (controller, _):
        await controller.sync(f"{NS}/web")
    stored = api.stored("deployments", NS, "web")
    cond = failure(stored)
    assert cond is not None
    assert (cond.status, cond.reason, cond.message) == ("True", "FailedCreate", QUOTA)
    assert cond.last_update_time == cond.last_transition_time == "2026-01-01T00:00:00Z"

    rs = api.stored("replicasets", NS, "web-a")
    del rs.status.conditions[:]
    api.put(rs)
    async with synced(api, DeploymentController) as (controller, _):
        await controller.sync(f"{NS}/web")
    assert failure(api.stored("deployments", NS, "web")) is None

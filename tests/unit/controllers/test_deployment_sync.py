"""One sync of the Deployment controller does what Kubernetes' does: revision history,
old ReplicaSets whose status lags their shrink, the Progressing message before a Recreate
rollout has a new ReplicaSet, and a new ReplicaSet the API refuses."""

from __future__ import annotations

import pytest

from client.errors import Forbidden
from master.controllers import deployment_util as du
from master.controllers.deployment import DeploymentController
from proto import meta_pb2, workloads_pb2
from tests.unit.controllers.memory_api import MemoryApi, ago, synced
from tests.unit.controllers.workload_objects import NS, deployment, owned_set


def revision(
    d: workloads_pb2.Deployment, name: str, number: int, replicas: int, image: str = ""
) -> workloads_pb2.ReplicaSet:
    """Revision `number` of `d`: its template with `image` (`d`'s own when empty)."""
    rs = owned_set(d, name, replicas)
    if image:
        rs.spec.template.spec.containers[0].image = image
    rs.metadata.annotations[du.REVISION] = str(number)
    rs.metadata.creation_timestamp = ago(10_000 - number)
    return rs


async def sync(api: MemoryApi) -> list[tuple[str, str, str]]:
    """One sync of the Deployment "web"; the Events it recorded."""
    async with synced(api, DeploymentController) as (controller, recorded):
        await controller.sync(f"{NS}/web")
    return recorded.events


async def test_history_keeps_the_newest_revisions_when_an_older_one_is_still_busy() -> None:
    # Paused mid-rollout: revision 1 still runs pods, 2 and 3 are empty, 4 is the new one.
    api = MemoryApi()
    d = deployment(3)
    d.spec.paused = True
    d.spec.revision_history_limit = 1
    d.metadata.annotations[du.REVISION] = "4"
    api.put(d)
    api.put(revision(d, "web-1", 1, 2, image="busybox:1"))
    api.put(revision(d, "web-2", 2, 0, image="busybox:2"))
    api.put(revision(d, "web-3", 3, 0, image="busybox:3"))
    api.put(revision(d, "web-4", 4, 2))

    await sync(api)

    # Two old sets too many: of the oldest two, only the empty one goes; 3 stays for undo.
    assert api.names("replicasets") == ["web-1", "web-3", "web-4"]


async def test_history_cleanup_deletes_the_oldest_empty_revisions_beyond_the_limit() -> None:
    api = MemoryApi()
    d = deployment(3)
    d.spec.revision_history_limit = 1
    d.metadata.annotations[du.REVISION] = "4"
    api.put(d)
    for number in (1, 2, 3):
        api.put(revision(d, f"web-{number}", number, 0, image=f"busybox:{number}"))
    api.put(revision(d, "web-4", 4, 3))

    await sync(api)

    assert api.names("replicasets") == ["web-3", "web-4"]


async def test_an_old_replicaset_reporting_more_available_pods_than_asked_is_not_scaled() -> None:
    # 4 replicas, maxSurge 1, maxUnavailable 1: the old set was just shrunk 4 -> 3 and still
    # reports 4 available, while the new set's one pod became available.
    api = MemoryApi()
    d = deployment(4)
    d.metadata.annotations[du.REVISION] = "2"
    api.put(d)
    old = revision(d, "web-1", 1, 3, image="busybox:1")
    old.status.replicas = old.status.ready_replicas = old.status.available_replicas = 4
    api.put(old)
    api.put(revision(d, "web-2", 2, 1))

    events = await sync(api)

    assert [u.metadata.name for u in api.updates if u.metadata.name.startswith("web-")] == []
    assert not [e for e in events if e[1] == "ScalingReplicaSet"]
    assert api.stored("replicasets", NS, "web-1").spec.replicas == 3


async def test_recreate_names_the_deployment_while_its_old_pods_go() -> None:
    api = MemoryApi()
    d = deployment(3)
    d.spec.strategy.type = "Recreate"
    d.spec.strategy.ClearField("rolling_update")
    d.metadata.annotations[du.REVISION] = "1"
    # As the rollout's first sync left it: three old pods, none of the new template.
    d.status.replicas = d.status.ready_replicas = d.status.available_replicas = 3
    d.status.observed_generation = 1
    d.status.conditions.append(
        meta_pb2.Condition(
            type="Progressing",
            status="True",
            reason=du.NEW_RS_AVAILABLE,
            message='ReplicaSet "web-1" has successfully progressed.',
            last_transition_time=ago(3600),
            last_update_time=ago(3600),
        )
    )
    # The template changed: revision 1's set is shrunk to 0, two of its pods still going.
    api.put(d)
    old = revision(d, "web-1", 1, 0, image="busybox:1")
    old.status.replicas = old.status.ready_replicas = old.status.available_replicas = 2
    api.put(old)

    await sync(api)

    stored = api.stored("deployments", NS, "web")
    progressing = next(c for c in stored.status.conditions if c.type == "Progressing")
    assert (progressing.reason, progressing.message) == (
        du.RS_UPDATED,
        'Deployment "web" is progressing.',
    )


async def test_a_refused_new_replicaset_is_reported_on_the_deployment() -> None:
    refusal = 'replicasets.apps "web-x" is forbidden: exceeded quota: sets'
    api = MemoryApi()
    api.put(deployment(3))
    api.refuse["replicasets"] = Forbidden(refusal)

    async with synced(api, DeploymentController) as (controller, recorded):
        with pytest.raises(Forbidden):
            await controller.sync(f"{NS}/web")

    stored = api.stored("deployments", NS, "web")
    progressing = next(c for c in stored.status.conditions if c.type == "Progressing")
    assert (progressing.status, progressing.reason) == ("False", "ReplicaSetCreateError")
    assert progressing.message.startswith('Failed to create new replica set "web-')
    assert progressing.message.endswith(f": {refusal}")
    assert recorded.events == [("Warning", "ReplicaSetCreateError", progressing.message)]

"""Which pods a ReplicaSet deletes when it has too many, as Kubernetes 1.32 picks them.

Past the least advanced pods (unscheduled, pending, not ready), a lower
`controller.kubernetes.io/pod-deletion-cost` goes first, then a pod on a node crowded with
pods of the same Deployment; ages are compared by their power of two, so pods of about
the same age go by uid rather than strictly newest first.
"""

from __future__ import annotations

from master.controllers.replicaset import ReplicaSetController
from proto import workloads_pb2
from tests.unit.controllers.memory_api import MemoryApi, synced
from tests.unit.controllers.workload_objects import NS, pod, replica_set


async def scaled_down(api: MemoryApi, rs: workloads_pb2.ReplicaSet) -> list[str]:
    """One sync of `rs`; the names of its pods that are left."""
    async with synced(api, ReplicaSetController) as (controller, _):
        await controller.sync(f"{NS}/{rs.metadata.name}")
    prefix = f"{rs.metadata.name}-"
    return [n for n in api.names("pods") if n.startswith(prefix)]


async def test_a_pod_with_a_lower_deletion_cost_goes_first_even_when_it_is_the_oldest() -> None:
    api = MemoryApi()
    rs = api.put(replica_set("web-a", 2))
    assert isinstance(rs, workloads_pb2.ReplicaSet)
    api.put(pod("web-a-cheap", rs, age=3600, cost="-5"))
    api.put(pod("web-a-mid", rs, age=600))
    api.put(pod("web-a-new", rs, age=60))

    assert await scaled_down(api, rs) == ["web-a-mid", "web-a-new"]


async def test_a_malformed_deletion_cost_counts_as_zero() -> None:
    api = MemoryApi()
    rs = api.put(replica_set("web-a", 1))
    assert isinstance(rs, workloads_pb2.ReplicaSet)
    api.put(pod("web-a-spaced", rs, age=3600, cost=" -5"))
    api.put(pod("web-a-new", rs, age=60))

    assert await scaled_down(api, rs) == ["web-a-spaced"]


async def test_a_pod_on_the_node_most_crowded_with_the_deployments_pods_goes_first() -> None:
    api = MemoryApi()
    old = api.put(replica_set("web-old", 1, owner_uid="uid-web", hash_label="old"))
    new = api.put(replica_set("web-new", 2, owner_uid="uid-web", hash_label="new"))
    assert isinstance(old, workloads_pb2.ReplicaSet) and isinstance(new, workloads_pb2.ReplicaSet)
    api.put(pod("web-old-alone", old, age=60, node="n1"))
    api.put(pod("web-old-crowded", old, age=7200, node="n2"))
    api.put(pod("web-new-1", new, age=30, node="n2"))
    api.put(pod("web-new-2", new, age=30, node="n2"))

    assert await scaled_down(api, old) == ["web-old-alone"]


async def test_without_a_controller_node_crowding_does_not_count() -> None:
    api = MemoryApi()
    rs = api.put(replica_set("web-a", 2))
    assert isinstance(rs, workloads_pb2.ReplicaSet)
    api.put(pod("web-a-n1", rs, age=60, node="n1"))
    api.put(pod("web-a-n2a", rs, age=7200, node="n2"))
    api.put(pod("web-a-n2b", rs, age=3600, node="n2"))

    assert await scaled_down(api, rs) == ["web-a-n2a", "web-a-n2b"]


async def test_pods_of_about_the_same_age_go_by_uid_not_strictly_newest_first() -> None:
    # 10 and 12 minutes both lie between 2**39 and 2**40 nanoseconds.
    api = MemoryApi()
    rs = api.put(replica_set("web-a", 1))
    assert isinstance(rs, workloads_pb2.ReplicaSet)
    api.put(pod("web-a-newer", rs, age=600, uid="uid-2"))
    api.put(pod("web-a-older", rs, age=720, uid="uid-1"))

    assert await scaled_down(api, rs) == ["web-a-newer"]


async def test_a_much_newer_pod_still_goes_before_an_old_one() -> None:
    api = MemoryApi()
    rs = api.put(replica_set("web-a", 1))
    assert isinstance(rs, workloads_pb2.ReplicaSet)
    api.put(pod("web-a-newer", rs, age=60, uid="uid-2"))
    api.put(pod("web-a-older", rs, age=3600, uid="uid-1"))

    assert await scaled_down(api, rs) == ["web-a-older"]

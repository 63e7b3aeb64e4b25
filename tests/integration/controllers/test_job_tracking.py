"""Job pods are counted once, through their tracking finalizer: a succeeded pod deleted
before the Job finished is not run again, a running pod deleted by someone else counts as
a failure and is replaced, and a deleted Job's pods are let go."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.errors import NotFound
from master.controllers import controller_utils as cu
from master.controllers.job_tracking import FINALIZER
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, wait_for
from tests.integration.controllers.test_job import FAST, condition, finish, job, job_pods


async def running_pods(api: ApiClient, name: str) -> list[core_pb2.Pod]:
    pods = await job_pods(api, name)
    return [p for p in pods if cu.is_pod_active(p) and p.status.phase == "Running"]


async def one_running(api: ApiClient, name: str) -> core_pb2.Pod:
    found: list[core_pb2.Pod] = []

    async def some() -> bool:
        found[:] = await running_pods(api, name)
        return bool(found)

    await wait_for(some, what=f"a running pod of {name}")
    return found[0]


async def test_a_succeeded_pod_deleted_before_the_job_finished_is_not_run_again(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    await api.create(job("twice", completions=2, parallelism=1))
    first = await one_running(api, "twice")
    assert FINALIZER in first.metadata.finalizers
    assert await finish(api, first, "Succeeded")

    async def counted_and_released() -> bool:
        j = await fetch(api, workloads_pb2.Job, "twice")
        pod = next(
            (p for p in await job_pods(api, "twice") if p.metadata.uid == first.metadata.uid), None
        )
        return (
            j.status.succeeded == 1 and pod is not None and FINALIZER not in pod.metadata.finalizers
        )

    await wait_for(counted_and_released, what="the first pod counted and its finalizer gone")
    await api.delete("pods", "default", first.metadata.name)
    second = await one_running(api, "twice")
    assert await finish(api, second, "Succeeded")
    await wait_for(lambda: condition(api, "twice", "Complete"), what="the Job complete")
    j = await fetch(api, workloads_pb2.Job, "twice")
    assert (j.status.succeeded, j.status.failed) == (2, 0)
    assert not j.status.uncounted_terminated_pods.succeeded
    # Two pods were ever made: the deleted success was not made again.
    assert len(await job_pods(api, "twice")) == 1


async def test_a_running_pod_deleted_by_someone_else_is_a_failure_and_is_replaced(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    await api.create(job("evicted", completions=1, backoffLimit=3))
    victim = await one_running(api, "evicted")
    await api.delete("pods", "default", victim.metadata.name)

    async def replaced_and_counted() -> bool:
        j = await fetch(api, workloads_pb2.Job, "evicted")
        pods = await running_pods(api, "evicted")
        return j.status.failed == 1 and any(p.metadata.uid != victim.metadata.uid for p in pods)

    await wait_for(replaced_and_counted, what="the deleted pod counted failed and replaced")

    async def gone() -> bool:
        try:
            await api.get("pods", "default", victim.metadata.name)
        except NotFound:
            return True
        return False

    await wait_for(gone, what="the deleted pod released and gone")


async def test_a_deleted_jobs_pods_are_released_and_go(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    await api.create(job("short", completions=3, parallelism=3))
    await wait_for(lambda: _count(api, "short", 3), what="three running pods of the Job")
    await api.delete("jobs", "default", "short", propagation_policy="Background")
    await wait_for(lambda: _count(api, "short", 0), timeout=30, what="the Job's pods gone")


async def _count(api: ApiClient, name: str, n: int) -> bool:
    return len(await job_pods(api, name)) == n


async def test_by_default_a_replacement_does_not_wait_for_the_deleted_pod_to_terminate(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    async def replaced() -> bool:
        pods = await job_pods(api, "eager")
        return any(cu.is_pod_active(p) for p in pods)

    sim = await simulator(["n1"])
    await manager.start(**FAST)
    await api.create(job("eager", completions=1, backoffLimit=3))
    victim = await one_running(api, "eager")
    sim.paused = True
    await api.delete("pods", "default", victim.metadata.name)
    await wait_for(replaced, what="a replacement while the old pod terminates")
    j = await fetch(api, workloads_pb2.Job, "eager")
    assert j.spec.pod_replacement_policy == "TerminatingOrFailed"
    sim.paused = False


async def test_with_pod_replacement_policy_failed_the_replacement_waits_for_the_pod_to_go(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    sim = await simulator(["n1"])
    await manager.start(**FAST)
    await api.create(job("patient", completions=1, backoffLimit=3, podReplacementPolicy="Failed"))
    victim = await one_running(api, "patient")
    sim.paused = True  # nobody confirms the deletion: the pod stays Terminating
    await api.delete("pods", "default", victim.metadata.name)

    async def terminating() -> bool:
        j = await fetch(api, workloads_pb2.Job, "patient")
        return j.status.terminating == 1 and j.status.failed == 1

    await wait_for(terminating, what="the deleted pod counted as terminating and failed")
    assert [p.metadata.uid for p in await job_pods(api, "patient")] == [victim.metadata.uid]
    sim.paused = False

    async def replaced() -> bool:
        pods = await job_pods(api, "patient")
        return any(p.metadata.uid != victim.metadata.uid and cu.is_pod_active(p) for p in pods)

    await wait_for(replaced, what="the replacement once the old pod is gone")

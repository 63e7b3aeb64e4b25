"""Indexed Jobs, podFailurePolicy, backoffLimitPerIndex and successPolicy, against a real
API server: the pods' index, what each failure counts for, and when the Job ends."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.errors import Conflict, NotFound
from master.controllers import controller_utils as cu
from master.controllers.job_indexes import FAILURE_COUNT_KEY, INDEX_KEY
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, wait_for
from tests.integration.controllers.test_job import FAST, job

ON_42 = {"containerName": "main", "operator": "In", "values": [42]}


async def running(api: ApiClient, name: str) -> dict[int, core_pb2.Pod]:
    """The Job's running pods by completion index."""
    pods = await fetch_all(api, core_pb2.Pod)
    return {
        int(p.metadata.annotations[INDEX_KEY]): p
        for p in pods
        if p.metadata.labels.get("job-name") == name
        and cu.is_pod_active(p)
        and p.status.phase == "Running"
    }


async def wait_running(api: ApiClient, name: str, index: int) -> core_pb2.Pod:
    found: dict[int, core_pb2.Pod] = {}

    async def there() -> bool:
        found.update(await running(api, name))
        return index in found

    await wait_for(there, what=f"a running pod for index {index}")
    return found[index]


async def finish(api: ApiClient, pod: core_pb2.Pod, exit_code: int, *, condition: str = "") -> None:
    """Play the kubelet: the container exited with `exit_code`."""
    pod.status.phase = "Succeeded" if exit_code == 0 else "Failed"
    del pod.status.conditions[:]
    if condition:
        pod.status.conditions.add(type=condition, status="True", reason="EvictionByEvictionAPI")
    del pod.status.container_statuses[:]
    status = pod.status.container_statuses.add(name="main")
    status.state.terminated.exit_code = exit_code
    try:
        await api.update_status(pod)
    except (Conflict, NotFound):
        raise AssertionError(f"pod {pod.metadata.name} changed under the test") from None


async def finished(api: ApiClient, name: str, type: str) -> workloads_pb2.Job | None:
    j = await fetch(api, workloads_pb2.Job, name)
    c = cu.get_condition(j.status.conditions, type)
    return j if c is not None and c.status == "True" else None


async def wait_finished(api: ApiClient, name: str, type: str) -> workloads_pb2.Job:
    async def done() -> bool:
        return await finished(api, name, type) is not None

    await wait_for(done, what=f"job {name} {type}")
    j = await finished(api, name, type)
    assert j is not None
    return j


def reason(j: workloads_pb2.Job, type: str) -> tuple[str, str]:
    c = cu.get_condition(j.status.conditions, type)
    assert c is not None, type
    return c.reason, c.message


async def test_an_indexed_job_runs_one_pod_per_index_and_completes_when_each_index_has(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    await api.create(job("sum", completionMode="Indexed", completions=3, parallelism=2))
    first = await wait_running(api, "sum", 0)
    await wait_running(api, "sum", 1)
    assert first.metadata.name.startswith("sum-0-")
    assert first.metadata.labels[INDEX_KEY] == "0"
    assert first.spec.hostname == "sum-0"
    assert [e.name for e in first.spec.containers[0].env] == ["JOB_COMPLETION_INDEX"]
    assert len(await running(api, "sum")) == 2

    await finish(api, await wait_running(api, "sum", 1), 0)
    await finish(api, await wait_running(api, "sum", 2), 0)

    async def completed_indexes() -> bool:
        j = await fetch(api, workloads_pb2.Job, "sum")
        return j.status.completed_indexes == "1,2"

    await wait_for(completed_indexes, what='completedIndexes "1,2"')
    await finish(api, await wait_running(api, "sum", 0), 0)
    j = await wait_finished(api, "sum", "Complete")
    assert j.status.completed_indexes == "0-2"
    assert (j.status.succeeded, j.status.active) == (3, 0)
    assert (
        reason(j, "SuccessCriteriaMet")
        == reason(j, "Complete")
        == (
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        )
    )


async def test_a_fail_job_rule_fails_the_job_at_the_first_matching_exit_code(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    rules = [{"action": "FailJob", "onExitCodes": ON_42}]
    await api.create(job("bug", completions=4, parallelism=2, podFailurePolicy={"rules": rules}))
    pods: list[core_pb2.Pod] = []

    async def two_running() -> bool:
        nonlocal pods
        every = await fetch_all(api, core_pb2.Pod)
        pods = [p for p in every if cu.is_pod_active(p) and p.status.phase == "Running"]
        return len(pods) == 2

    await wait_for(two_running, what="two running pods")
    await finish(api, pods[0], 42)
    j = await wait_finished(api, "bug", "Failed")
    name = pods[0].metadata.name
    expected = (
        "PodFailurePolicy",
        f"Container main for pod default/{name} failed with exit code 42 matching FailJob "
        "rule at index 0",
    )
    assert reason(j, "FailureTarget") == reason(j, "Failed") == expected
    assert j.status.failed == 1

    async def other_deleted() -> bool:
        left = await fetch_all(api, core_pb2.Pod)
        return not [p for p in left if cu.is_pod_active(p)]

    await wait_for(other_deleted, what="the other running pod deleted")


async def test_an_ignored_disruption_does_not_count_toward_the_backoff_limit(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    rules = [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]
    await api.create(job("calm", backoffLimit=0, podFailurePolicy={"rules": rules}))

    async def one_running() -> core_pb2.Pod | None:
        every = await fetch_all(api, core_pb2.Pod)
        live = [p for p in every if cu.is_pod_active(p) and p.status.phase == "Running"]
        return live[0] if live else None

    async def some_running() -> bool:
        return await one_running() is not None

    await wait_for(some_running, what="a running pod")
    first = await one_running()
    assert first is not None
    await finish(api, first, 137, condition="DisruptionTarget")

    async def replaced() -> bool:
        pod = await one_running()
        return pod is not None and pod.metadata.name != first.metadata.name

    await wait_for(replaced, what="a replacement for the disrupted pod")
    j = await fetch(api, workloads_pb2.Job, "calm")
    assert j.status.failed == 0
    assert not cu.get_condition(j.status.conditions, "Failed")

    second = await one_running()
    assert second is not None
    await finish(api, second, 1)
    j = await wait_finished(api, "calm", "Failed")
    assert reason(j, "Failed")[0] == "BackoffLimitExceeded"
    assert j.status.failed == 1


async def test_indexes_fail_past_their_own_limit_or_by_rule_and_then_the_job_fails(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    """The docs' backoffLimitPerIndex example: index 0 fails twice (one retry), index 1
    exits 42 (FailIndex: no retry), indexes 2 and 3 succeed."""
    await simulator(["n1"])
    await manager.start(**FAST)
    rules = [{"action": "FailIndex", "onExitCodes": ON_42}]
    await api.create(
        job(
            "perindex",
            completionMode="Indexed",
            completions=4,
            parallelism=2,
            backoffLimitPerIndex=1,
            podFailurePolicy={"rules": rules},
        )
    )
    await finish(api, await wait_running(api, "perindex", 0), 1)
    retry = await wait_running(api, "perindex", 0)
    assert retry.metadata.annotations[FAILURE_COUNT_KEY] == "1"
    await finish(api, retry, 1)
    await finish(api, await wait_running(api, "perindex", 1), 42)
    await finish(api, await wait_running(api, "perindex", 2), 0)
    await finish(api, await wait_running(api, "perindex", 3), 0)
    j = await wait_finished(api, "perindex", "Failed")
    assert reason(j, "Failed") == ("FailedIndexes", "Job has failed indexes")
    assert (j.status.failed_indexes, j.status.completed_indexes) == ("0,1", "2,3")
    assert (j.status.failed, j.status.succeeded) == (3, 2)
    every = await fetch_all(api, core_pb2.Pod)
    index_one = [p for p in every if p.metadata.annotations.get(INDEX_KEY) == "1"]
    assert len(index_one) == 1, "FailIndex must not retry the index"


async def test_more_failed_indexes_than_allowed_fail_the_job_and_stop_its_pods(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    await api.create(
        job(
            "fragile",
            completionMode="Indexed",
            completions=4,
            parallelism=4,
            backoffLimitPerIndex=0,
            maxFailedIndexes=1,
        )
    )
    await finish(api, await wait_running(api, "fragile", 0), 1)
    await finish(api, await wait_running(api, "fragile", 1), 1)
    j = await wait_finished(api, "fragile", "Failed")
    assert reason(j, "Failed") == (
        "MaxFailedIndexesExceeded",
        "Job has exceeded the specified maximal number of failed indexes",
    )
    assert j.status.failed_indexes == "0,1"

    async def stopped() -> bool:
        return not await running(api, "fragile")

    await wait_for(stopped, what="indexes 2 and 3 stopped")


async def test_a_success_policy_completes_the_job_early_and_stops_the_rest(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    policy = {"rules": [{"succeededIndexes": "0,2-3", "succeededCount": 1}]}
    await api.create(
        job("leader", completionMode="Indexed", completions=5, parallelism=5, successPolicy=policy)
    )
    for i in range(5):
        await wait_running(api, "leader", i)
    await finish(api, await wait_running(api, "leader", 4), 0)
    await finish(api, await wait_running(api, "leader", 2), 0)
    j = await wait_finished(api, "leader", "Complete")
    assert (
        reason(j, "SuccessCriteriaMet")
        == reason(j, "Complete")
        == (
            "SuccessPolicy",
            "Matched rules at index 0",
        )
    )
    assert j.status.completed_indexes == "2,4"
    assert j.status.completion_time

    async def stopped() -> bool:
        return not await running(api, "leader")

    await wait_for(stopped, what="the other indexes stopped")

"""Jobs: completions with parallelism and failures, backoffLimit, deadline and TTL."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from client.errors import Conflict, NotFound
from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, manifest, wait_for

FAST = {"job_backoff_base": 0.05}


def job(name: str, **spec: Any) -> Any:
    return manifest(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                **spec,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": "busybox:1.35"}],
                    }
                },
            },
        }
    )


async def job_pods(api: ApiClient, name: str) -> list[core_pb2.Pod]:
    pods = await fetch_all(api, core_pb2.Pod)
    return [p for p in pods if p.metadata.labels.get("job-name") == name]


async def finish(api: ApiClient, pod: core_pb2.Pod, phase: str) -> bool:
    """Play the kubelet: the pod's container exited (0 or 1)."""
    pod.status.phase = phase
    del pod.status.conditions[:]
    try:
        await api.update_status(pod)
    except (Conflict, NotFound):
        return False
    return True


async def condition(api: ApiClient, name: str, type: str) -> Any:
    j = await fetch(api, workloads_pb2.Job, name)
    c = cu.get_condition(j.status.conditions, type)
    return c if c is not None and c.status == "True" else None


async def test_a_job_with_two_failures_still_completes_five_with_two_in_parallel(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1", "n2"])
    await manager.start(**FAST)
    await api.create(job("calc", completions=5, parallelism=2))
    failures = 0
    most_active = 0
    # Each turn finishes one running pod; 5 successes + 2 failures needs 7 turns.
    for _ in range(7):
        running: list[core_pb2.Pod] = []

        async def some_running() -> bool:
            nonlocal running, most_active
            pods = await job_pods(api, "calc")
            active = [p for p in pods if cu.is_pod_active(p)]
            most_active = max(most_active, len(active))
            running = [p for p in active if p.status.phase == "Running"]
            return bool(running)

        await wait_for(some_running, what="a running job pod")
        phase = "Failed" if failures < 2 else "Succeeded"
        if await finish(api, running[0], phase):
            failures += phase == "Failed"
    await wait_for(lambda: condition(api, "calc", "Complete"), what="Complete")
    j = await fetch(api, workloads_pb2.Job, "calc")
    assert (j.status.succeeded, j.status.failed, j.status.active) == (5, 2, 0)
    assert j.status.completion_time and j.status.start_time
    assert most_active <= 2


async def test_a_job_past_its_backoff_limit_fails_and_stops_its_pods(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    await api.create(job("flaky", backoffLimit=1))
    for _ in range(2):
        running: list[core_pb2.Pod] = []

        async def one_running() -> bool:
            nonlocal running
            pods = await job_pods(api, "flaky")
            running = [p for p in pods if p.status.phase == "Running" and cu.is_pod_active(p)]
            return bool(running)

        await wait_for(one_running, what="a running pod")
        assert await finish(api, running[0], "Failed")
    await wait_for(lambda: condition(api, "flaky", "Failed"), what="Failed")
    cond = await condition(api, "flaky", "Failed")
    assert cond.reason == "BackoffLimitExceeded"
    j = await fetch(api, workloads_pb2.Job, "flaky")
    assert (j.status.failed, j.status.active) == (2, 0)
    events = {e.reason for e in await fetch_all(api, core_pb2.Event)}
    assert "BackoffLimitExceeded" in events


async def test_a_job_past_its_deadline_fails_and_a_finished_job_goes_after_its_ttl(
    api: ApiClient, manager: Any, simulator: Any
) -> None:
    await simulator(["n1"])
    await manager.start(**FAST)
    await api.create(job("slow", activeDeadlineSeconds=1, ttlSecondsAfterFinished=1))
    await wait_for(lambda: condition(api, "slow", "Failed"), what="Failed by deadline")
    cond = await condition(api, "slow", "Failed")
    assert cond.reason == "DeadlineExceeded"

    async def gone() -> bool:
        try:
            await fetch(api, workloads_pb2.Job, "slow")
        except NotFound:
            return not await job_pods(api, "slow")
        return False

    await wait_for(gone, what="job and pods deleted after the TTL")

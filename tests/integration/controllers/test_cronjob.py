"""CronJobs on a real API server, with the controller's clock moved by the test.

A test clock (master/controllers/cronjob.py's `clock`) stands in for waiting whole
minutes: the test moves it past a scheduled time and the controller, which looks again at
least every MAX_WAIT seconds (shortened here), acts as if that minute had come. The Jobs
it makes are finished by the test, playing the Job controller.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from client.api import ApiClient
from client.errors import Conflict
from client.timestamps import format_time
from master.controllers import controller_utils as cu
from master.controllers import cronjob
from master.controllers.base import Context
from master.controllers.settings import ControllerSettings
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, manifest, wait_for


def _second_one(at: datetime) -> datetime:
    return at.replace(second=1, microsecond=0)


class ManualClock:
    """A clock that moves only when told, and never lags the real clock's minute.

    It stands at second 1 of a minute, so each step of a minute passes exactly one
    schedule. It starts in the real clock's minute: a CronJob created now has its next
    time after this clock, so nothing is due before the test's first step, even when the
    controller syncs the new CronJob before the test takes it. (It started a minute
    ahead before, and a sync that came first found that minute due and started a Job
    early.) A step first catches up with the real clock's minute, so a create that
    crossed into a new minute still has a time due after a step of a minute."""

    def __init__(self) -> None:
        self.at = _second_one(datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **step: float) -> None:
        self.at = max(self.at, _second_one(datetime.now(UTC))) + timedelta(**step)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManualClock]:
    test_clock = ManualClock()
    monkeypatch.setattr(cronjob, "clock", test_clock)
    monkeypatch.setattr(cronjob, "MAX_WAIT", 0.1)
    yield test_clock


def cron_job(name: str, schedule: str = "* * * * *", **spec: Any) -> Any:
    return manifest(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "schedule": schedule,
                **spec,
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "main", "image": "busybox:1.35"}],
                            }
                        }
                    }
                },
            },
        }
    )


async def jobs_of(api: ApiClient, name: str) -> list[workloads_pb2.Job]:
    jobs = await fetch_all(api, workloads_pb2.Job)
    owned = []
    for job in jobs:
        ref = cu.controller_ref(job)
        if ref is not None and ref.kind == "CronJob" and ref.name == name:
            owned.append(job)
    return sorted(owned, key=lambda j: j.metadata.name)


async def job_count(api: ApiClient, name: str, count: int, what: str) -> list[workloads_pb2.Job]:
    async def reached() -> bool:
        return len(await jobs_of(api, name)) == count

    await wait_for(reached, what=what)
    return await jobs_of(api, name)


async def finish(api: ApiClient, job: workloads_pb2.Job, outcome: str, at: datetime) -> None:
    """Play the Job controller: the Job completed or failed at `at`."""
    fresh = await fetch(api, workloads_pb2.Job, job.metadata.name)
    fresh.status.conditions.append(cu.new_condition(outcome, "True", outcome, ""))
    fresh.status.start_time = format_time(at - timedelta(seconds=1))
    if outcome == "Complete":
        fresh.status.completion_time = format_time(at)
    await api.update_status(fresh)


def syncs() -> float:
    return (
        REGISTRY.get_sample_value(
            "tugboat_controller_sync_duration_seconds_count", {"controller": "cronjob"}
        )
        or 0.0
    )


async def synced_twice() -> None:
    """Wait until the controller has run two whole syncs after this call."""
    before = syncs()
    await wait_for(lambda: syncs() >= before + 2, what="two syncs of the cronjob controller")


async def events_of(api: ApiClient, reason: str) -> list[core_pb2.Event]:
    events = await fetch_all(api, core_pb2.Event)
    return [e for e in events if e.reason == reason and e.involved_object.kind == "CronJob"]


async def test_an_every_minute_cron_job_starts_one_job_each_minute_named_by_its_minute(
    api: ApiClient, manager: Any, clock: ManualClock
) -> None:
    await manager.start(controllers=("cronjob",))
    await api.create(cron_job("tick"))
    # The controller may sync a new CronJob before the test's next step: no time is due.
    await synced_twice()
    assert await jobs_of(api, "tick") == []
    clock.advance(minutes=1)
    first = await job_count(api, "tick", 1, "the first minute's Job")
    minute = clock.at.replace(second=0)
    assert first[0].metadata.name == cronjob.job_name("tick", minute)
    assert first[0].metadata.annotations[cronjob.SCHEDULED_ANNOTATION] == format_time(minute)
    clock.advance(minutes=1)
    await job_count(api, "tick", 2, "the second minute's Job (Allow runs them side by side)")

    async def status_caught_up() -> bool:
        cj = await fetch(api, workloads_pb2.CronJob, "tick")
        return (
            cj.status.last_schedule_time == format_time(clock.at.replace(second=0))
            and len(cj.status.active) == 2
        )

    await wait_for(status_caught_up, what="lastScheduleTime and two active Jobs")
    manager.check()


async def test_forbid_skips_a_minute_while_the_last_job_runs_and_starts_once_it_is_done(
    api: ApiClient, manager: Any, clock: ManualClock
) -> None:
    await manager.start(controllers=("cronjob",))
    await api.create(cron_job("nightly", concurrencyPolicy="Forbid"))
    clock.advance(minutes=1)
    [running] = await job_count(api, "nightly", 1, "the first Job")
    clock.advance(minutes=1)

    async def skipped() -> bool:
        cj = await fetch(api, workloads_pb2.CronJob, "nightly")
        return cj.status.last_schedule_time == format_time(
            (clock.at - timedelta(minutes=1)).replace(second=0)
        )

    await wait_for(skipped, what="the CronJob to keep its first lastScheduleTime")
    assert len(await jobs_of(api, "nightly")) == 1
    await finish(api, running, "Complete", clock.at)
    clock.advance(minutes=1)
    await job_count(api, "nightly", 2, "a Job once the running one completed")

    async def success_seen() -> bool:
        cj = await fetch(api, workloads_pb2.CronJob, "nightly")
        return bool(cj.status.last_successful_time)

    await wait_for(success_seen, what="lastSuccessfulTime")
    manager.check()


async def test_replace_deletes_the_running_job_before_starting_the_next(
    api: ApiClient, manager: Any, clock: ManualClock
) -> None:
    await manager.start(controllers=("cronjob",))
    await api.create(cron_job("swap", concurrencyPolicy="Replace"))
    clock.advance(minutes=1)
    [old] = await job_count(api, "swap", 1, "the first Job")
    clock.advance(minutes=1)

    async def replaced() -> bool:
        names = [j.metadata.name for j in await jobs_of(api, "swap")]
        return len(names) == 1 and names[0] != old.metadata.name

    await wait_for(replaced, what="the first Job replaced by the second")
    manager.check()


class FrozenCache:
    """An informer's objects as they were when taken: a cache that lags the API server."""

    def __init__(self, *objects: Any) -> None:
        self.objects = {f"{o.metadata.namespace}/{o.metadata.name}": o for o in objects}

    def get(self, key: str, copy: bool = True) -> Any:
        return self.objects.get(key)

    def by_index(self, index: str, value: str, copy: bool = True) -> list[Any]:
        return [o for o in self.objects.values() if cu.controller_uid(o) == value]


async def test_a_sync_whose_cronjob_lags_its_own_write_does_not_replace_the_job_it_started(
    api: ApiClient, clock: ManualClock
) -> None:
    created = await api.create(cron_job("lag", concurrencyPolicy="Replace"))
    clock.advance(minutes=1)
    controller = cronjob.CronJobController(Context(api, ControllerSettings()))
    lagging: Any = controller
    lagging.cron_jobs = FrozenCache(created)
    lagging.jobs = FrozenCache()
    await controller.sync("default/lag")
    [started] = await jobs_of(api, "lag")
    # The Job's event has reached the cache; the CronJob's status write has not.
    lagging.jobs = FrozenCache(started)
    with contextlib.suppress(Conflict):
        await controller.sync("default/lag")
    [kept] = await jobs_of(api, "lag")
    assert kept.metadata.uid == started.metadata.uid
    assert not kept.metadata.deletion_timestamp


async def test_a_run_whose_status_write_was_lost_to_a_conflict_is_recorded_by_the_next_sync(
    api: ApiClient, clock: ManualClock
) -> None:
    created = await api.create(cron_job("lost"))
    controller = cronjob.CronJobController(Context(api, ControllerSettings()))
    lagging: Any = controller
    clock.advance(minutes=1)
    lagging.cron_jobs = FrozenCache(created)
    lagging.jobs = FrozenCache()
    await controller.sync("default/lost")
    [first] = await jobs_of(api, "lost")
    recorded = await fetch(api, workloads_pb2.CronJob, "lost")
    # The next minute's sync still holds the CronJob as created: its Job is made, and
    # its status write refused.
    clock.advance(minutes=1)
    lagging.jobs = FrozenCache(first)
    with pytest.raises(Conflict):
        await controller.sync("default/lost")
    jobs = await jobs_of(api, "lost")
    assert len(jobs) == 2
    # The retry sees the status of the first run and both Jobs.
    lagging.cron_jobs = FrozenCache(recorded)
    lagging.jobs = FrozenCache(*jobs)
    await controller.sync("default/lost")
    cj = await fetch(api, workloads_pb2.CronJob, "lost")
    assert cj.status.last_schedule_time == format_time(clock.at.replace(second=0))
    assert sorted(ref.name for ref in cj.status.active) == [j.metadata.name for j in jobs]
    assert len(await jobs_of(api, "lost")) == 2


async def test_history_limits_keep_only_the_newest_finished_jobs(
    api: ApiClient, manager: Any, clock: ManualClock
) -> None:
    await manager.start(controllers=("cronjob",))
    await api.create(cron_job("kept", successfulJobsHistoryLimit=2, failedJobsHistoryLimit=1))
    outcomes = ["Failed", "Complete", "Failed", "Complete", "Complete"]
    names: list[str] = []
    for i, outcome in enumerate(outcomes):
        clock.advance(minutes=1)
        job = cronjob.job_name("kept", clock.at.replace(second=0))
        names.append(job)

        async def made(job: str = job) -> bool:
            return job in [j.metadata.name for j in await jobs_of(api, "kept")]

        await wait_for(made, what=f"Job {i}")
        await finish(api, await fetch(api, workloads_pb2.Job, job), outcome, clock.at)
    wanted = {names[2], names[3], names[4]}

    async def trimmed() -> bool:
        return {j.metadata.name for j in await jobs_of(api, "kept")} == wanted

    await wait_for(trimmed, what="the newest failed Job and the two newest successes kept")
    manager.check()


async def test_after_a_long_outage_only_the_latest_missed_time_starts_and_it_is_reported(
    api: ApiClient, manager: Any, clock: ManualClock
) -> None:
    await api.create(cron_job("late"))
    clock.advance(hours=3)
    await manager.start(controllers=("cronjob",))
    [job] = await job_count(api, "late", 1, "one Job for three hours of missed minutes")
    assert job.metadata.name == cronjob.job_name("late", clock.at.replace(second=0))

    async def reported() -> bool:
        return bool(await events_of(api, "TooManyMissedTimes"))

    await wait_for(reported, what="the TooManyMissedTimes warning")
    manager.check()


async def test_a_start_later_than_its_deadline_is_skipped(
    api: ApiClient, manager: Any, clock: ManualClock
) -> None:
    await manager.start(controllers=("cronjob",))
    await api.create(cron_job("strict", startingDeadlineSeconds=10))
    clock.advance(seconds=89)  # 30 s past the next minute: too late to start it
    await synced_twice()
    assert await jobs_of(api, "strict") == []
    clock.advance(seconds=35)  # 5 s past the minute after: in time
    [job] = await job_count(api, "strict", 1, "the Job of the minute still in its deadline")
    assert job.metadata.name == cronjob.job_name("strict", clock.at.replace(second=0))
    manager.check()


async def test_a_suspended_cron_job_starts_nothing(
    api: ApiClient, manager: Any, clock: ManualClock
) -> None:
    await manager.start(controllers=("cronjob",))
    await api.create(cron_job("paused", suspend=True))
    await api.create(cron_job("control"))
    clock.advance(minutes=1)
    await job_count(api, "control", 1, "the unsuspended CronJob's Job")
    await synced_twice()
    assert await jobs_of(api, "paused") == []
    manager.check()

"""CronJobs: a Job for each time the schedule names, within the concurrency policy.

One level-triggered step per sync, in the order of Kubernetes' cronjob controller (v2):
1. Bring `status.active` up to date from the Jobs this CronJob controls: finished ones
   leave it (a success moves `lastSuccessfulTime`), running ones missing from it join it.
2. Delete the oldest finished Jobs beyond the two history limits.
3. Unless suspended, find the most recent scheduled time not yet acted on, between the
   last schedule time (or the creation) and now. More than 100 missed times in between is
   reported as Kubernetes reports it, and only the most recent is started: a controller
   manager that was down for a day does not start a day's Jobs at once.
4. Skip it when its Job is already active (a cached CronJob can lag behind the status
   write of the sync that started that Job), when it is older than
   `startingDeadlineSeconds`, or under Forbid while a Job runs; under Replace delete the
   running Jobs first.
5. Create the Job. Its name carries the scheduled minute, so a retried or repeated sync
   (or a second controller manager after a fail-over) meets AlreadyExists instead of
   starting the same run twice.

The next sync is queued for the next scheduled time, but never more than MAX_WAIT away,
so a wall clock that jumps (or a test clock that is moved) is noticed within that bound.
Time comes from `clock`, which tests replace.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from client import cron, kinds
from client.errors import AlreadyExists, NotFound
from client.informer import copy_object
from client.timestamps import format_time, try_parse
from master.controllers import controller_utils as cu
from master.controllers.base import Context, Controller
from master.controllers.deleting import delete_exact
from proto import core_pb2, workloads_pb2

__all__ = ["MAX_MISSED", "SCHEDULED_ANNOTATION", "CronJobController", "job_name"]

log = structlog.get_logger("controllers.cronjob")

MAX_MISSED = 100
"""Missed start times counted before Kubernetes' TooManyMissedTimes warning."""
MAX_WAIT = 10.0
"""Longest seconds between syncs of a CronJob, whatever its schedule."""
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
"""On each Job: the scheduled time it was made for (Kubernetes' annotation)."""


def wall_clock() -> datetime:
    return datetime.now(UTC)


clock: Callable[[], datetime] = wall_clock
"""The controller's time; tests set a clock of their own."""


def job_name(cron_job: str, scheduled: datetime) -> str:
    """The Job of `scheduled`: the CronJob's name and the minute, as Kubernetes names it."""
    return f"{cron_job}-{int(scheduled.timestamp()) // 60}"


def finished(job: workloads_pb2.Job) -> str:
    """ "Complete" or "Failed" once the Job has finished, else ""."""
    for c in job.status.conditions:
        if c.type in ("Complete", "Failed") and c.status == "True":
            return str(c.type)
    return ""


class CronJobController(Controller):
    """Starts the Jobs of every CronJob and keeps its status and history."""

    name = "cronjob"
    component = "cronjob-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.cron_jobs = ctx.informers.get("cronjobs")
        self.jobs = ctx.informers.get("jobs")
        self.cron_jobs.add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))
        self.jobs.add_handler(
            on_add=self._owner, on_update=lambda o, n: self._owner(n), on_delete=self._owner
        )

    def _owner(self, job: Any) -> None:
        ref = cu.controller_ref(job)
        if ref is not None and ref.kind == "CronJob":
            self.queue.add(f"{job.metadata.namespace}/{ref.name}")

    async def sync(self, key: str) -> None:
        cached = self.cron_jobs.get(key, copy=False)
        if cached is None or cached.metadata.deletion_timestamp:
            return
        cj: workloads_pb2.CronJob = copy_object(cached)
        jobs = [
            j
            for j in self.jobs.by_index(cu.CONTROLLER_UID_INDEX, cj.metadata.uid, copy=False)
            if isinstance(j, workloads_pb2.Job)
        ]
        changed = await self._track_active(cj, jobs)
        await self._trim_history(cj, jobs)
        now = clock()
        if not cj.spec.suspend and await self._start_due(cj, now):
            changed = True
        if changed:
            try:
                await self.client.update_status(cj)
            except NotFound:
                return
        self._requeue(key, cj, now)

    # ---- 1. status.active ----

    async def _track_active(
        self, cj: workloads_pb2.CronJob, jobs: builtins.list[workloads_pb2.Job]
    ) -> bool:
        changed = False
        active = {ref.uid for ref in cj.status.active}
        by_uid = {j.metadata.uid: j for j in jobs}
        for job in jobs:
            outcome = finished(job)
            if job.metadata.deletion_timestamp:
                continue
            if not outcome and job.metadata.uid not in active:
                cj.status.active.append(_reference(job))
                changed = True
            elif outcome == "Complete":
                done = job.status.completion_time
                last = try_parse(cj.status.last_successful_time)
                at = try_parse(done)
                if at is not None and (last is None or at > last):
                    cj.status.last_successful_time = done
                    changed = True
        kept = []
        for ref in cj.status.active:
            seen = by_uid.get(ref.uid)
            if seen is None and await self._exists(ref):
                kept.append(ref)  # made but not yet in the cache
            elif seen is not None and not finished(seen):
                kept.append(ref)
            else:
                if seen is not None:
                    await self.events.record(
                        cj,
                        "Normal",
                        "SawCompletedJob",
                        f"Saw completed job: {ref.name}, condition: {finished(seen)}",
                    )
                changed = True
        if changed:
            del cj.status.active[:]
            cj.status.active.extend(kept)
        return changed

    async def _exists(self, ref: core_pb2.ObjectReference) -> bool:
        try:
            job = await self.client.get("jobs", ref.namespace, ref.name)
        except NotFound:
            return False
        return bool(job.metadata.uid == ref.uid)

    # ---- 2. history limits ----

    async def _trim_history(
        self, cj: workloads_pb2.CronJob, jobs: builtins.list[workloads_pb2.Job]
    ) -> None:
        for outcome, limit in (
            ("Complete", cj.spec.successful_jobs_history_limit),
            ("Failed", cj.spec.failed_jobs_history_limit),
        ):
            done = [j for j in jobs if finished(j) == outcome and not j.metadata.deletion_timestamp]
            done.sort(key=_started)
            for job in done[: max(0, len(done) - limit)]:
                if await delete_exact(
                    self.client, "jobs", job, propagation_policy="Background", or_replaced=True
                ):
                    await self.events.record(
                        cj, "Normal", "SuccessfulDelete", f"Deleted job {job.metadata.name}"
                    )

    # ---- 3-5. the next Job ----

    async def _start_due(self, cj: workloads_pb2.CronJob, now: datetime) -> bool:
        """Start the Job now due, if any and if the policy lets it; whether status changed."""
        try:
            schedule = cron.parse(cj.spec.schedule)
            where = cron.zone(cj.spec.time_zone)
        except cron.CronError as e:
            await self.events.record(cj, "Warning", "UnparseableSchedule", str(e))
            return False
        scheduled = await self._most_recent_unmet(cj, schedule, where, now)
        if scheduled is None:
            return False
        name = job_name(cj.metadata.name, scheduled)
        if any(ref.name == name for ref in cj.status.active):
            # The cache's CronJob predates the write that recorded this run, but its Job
            # is already seen: this time was acted on, and Replace must not delete it.
            # That write may have been lost to a conflict, so record the time here: else
            # lastScheduleTime stays behind a Job that runs, and every sync comes back here.
            cj.status.last_schedule_time = format_time(scheduled)
            return True
        if cj.spec.HasField("starting_deadline_seconds") and now > scheduled + timedelta(
            seconds=cj.spec.starting_deadline_seconds
        ):
            await self.events.record(
                cj,
                "Warning",
                "MissSchedule",
                f"Missed scheduled time to start a job: {format_time(scheduled)}",
            )
            return False
        policy = cj.spec.concurrency_policy
        if policy == "Forbid" and cj.status.active:
            log.info("forbidden: a job still runs", cronjob=kinds.key(cj))
            return False
        if policy == "Replace":
            for ref in list(cj.status.active):
                await self._delete_active(cj, ref)
            del cj.status.active[:]
        job = await self._create(cj, scheduled)
        if job is None:
            return False
        cj.status.active.append(_reference(job))
        cj.status.last_schedule_time = format_time(scheduled)
        return True

    async def _most_recent_unmet(
        self, cj: workloads_pb2.CronJob, schedule: cron.Schedule, where: Any, now: datetime
    ) -> datetime | None:
        since = try_parse(cj.status.last_schedule_time) or try_parse(cj.metadata.creation_timestamp)
        if since is None:
            return None
        if cj.spec.HasField("starting_deadline_seconds"):
            since = max(since, now - timedelta(seconds=cj.spec.starting_deadline_seconds))
        missed = 0
        at = schedule.next_after(since, where)
        while at is not None and at <= now and missed <= MAX_MISSED:
            missed += 1
            at = schedule.next_after(at, where)
        if missed == 0:
            return None
        if missed > MAX_MISSED:
            await self.events.record(
                cj,
                "Warning",
                "TooManyMissedTimes",
                f"too many missed start times: > {MAX_MISSED}. Set or decrease "
                ".spec.startingDeadlineSeconds or check clock skew",
            )
        return schedule.latest_at_or_before(now, where)

    async def _delete_active(
        self, cj: workloads_pb2.CronJob, ref: core_pb2.ObjectReference
    ) -> None:
        job = self.jobs.get(f"{ref.namespace}/{ref.name}", copy=False)
        if job is None or job.metadata.uid != ref.uid:
            return
        if await delete_exact(
            self.client, "jobs", job, propagation_policy="Background", or_replaced=True
        ):
            await self.events.record(cj, "Normal", "SuccessfulDelete", f"Deleted job {ref.name}")

    async def _create(
        self, cj: workloads_pb2.CronJob, scheduled: datetime
    ) -> workloads_pb2.Job | None:
        job = job_from_cron_job(cj, scheduled)
        try:
            made = await self.client.create(job)
        except AlreadyExists:
            # This run was started already (an earlier try whose answer was lost, or the
            # other controller manager before a fail-over): adopt it if it is ours.
            try:
                found = await self.client.get("jobs", job.metadata.namespace, job.metadata.name)
            except NotFound:
                return None
            ref = cu.controller_ref(found)
            if ref is None or ref.uid != cj.metadata.uid:
                await self.events.record(
                    cj,
                    "Warning",
                    "FailedCreate",
                    f"Error creating job: {job.metadata.name} exists and is not this CronJob's",
                )
                return None
            assert isinstance(found, workloads_pb2.Job)
            return found
        assert isinstance(made, workloads_pb2.Job)
        await self.events.record(
            cj, "Normal", "SuccessfulCreate", f"Created job {job.metadata.name}"
        )
        log.info("job created", cronjob=kinds.key(cj), job=job.metadata.name)
        return made

    def _requeue(self, key: str, cj: workloads_pb2.CronJob, now: datetime) -> None:
        if cj.spec.suspend:
            return
        try:
            following = cron.parse(cj.spec.schedule).next_after(now, cron.zone(cj.spec.time_zone))
        except cron.CronError:
            return
        if following is None:
            return
        wait = (following - now).total_seconds() + 0.1
        self.queue.add_after(key, min(max(wait, 0.1), MAX_WAIT))


def job_from_cron_job(cj: workloads_pb2.CronJob, scheduled: datetime) -> workloads_pb2.Job:
    """The Job of the template for `scheduled`, owned by `cj` (also `tug create job
    --from=cronjob/NAME`, which passes the time of the request)."""
    template = cj.spec.job_template
    job = workloads_pb2.Job(api_version="batch/v1", kind="Job")
    job.metadata.CopyFrom(template.metadata)
    job.metadata.name = job_name(cj.metadata.name, scheduled)
    job.metadata.namespace = cj.metadata.namespace
    job.metadata.annotations[SCHEDULED_ANNOTATION] = format_time(scheduled)
    del job.metadata.owner_references[:]
    job.metadata.owner_references.append(cu.owner_reference(cj))
    job.spec.CopyFrom(template.spec)
    return job


def _reference(job: workloads_pb2.Job) -> core_pb2.ObjectReference:
    m = job.metadata
    return core_pb2.ObjectReference(
        api_version="batch/v1",
        kind="Job",
        namespace=m.namespace,
        name=m.name,
        uid=m.uid,
        resource_version=m.resource_version,
    )


def _started(job: workloads_pb2.Job) -> datetime:
    return (
        try_parse(job.status.start_time)
        or try_parse(job.metadata.creation_timestamp)
        or datetime.min.replace(tzinfo=UTC)
    )

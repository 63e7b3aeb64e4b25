"""The Job controller: run pods until `completions` succeed, or give up.

Counting follows Kubernetes: `succeeded` and `failed` count the Job's pods that finished
so, each once, through the tracking finalizer every pod carries until it is counted
(job_tracking.py; a pod deleted before it finished failed), `active` the others not being
deleted. The pods are kept until the Job goes. The Job
fails when failed > backoffLimit (for restartPolicy OnFailure: when its pods' restarts
reach it), or when it has been active longer than activeDeadlineSeconds; either way its
active pods are deleted and the Failed condition is set. It completes when `completions`
pods succeeded (without completions: when one succeeded and none is active), with the
Complete condition and completionTime. In between it keeps
min(parallelism, completions - succeeded) pods active, creating replacements for failed
pods after an exponential back-off. A finished Job with ttlSecondsAfterFinished is
deleted (foreground) that long after it finished.

The rest of batch/v1 sits in modules of its own, as Kubernetes' job controller splits
them: an Indexed Job's one pod per completion index (job_indexes.py, with
backoffLimitPerIndex and maxFailedIndexes), podFailurePolicy (job_failure_policy.py:
FailJob, FailIndex, Ignore, Count) and successPolicy (job_success_policy.py). Like
Kubernetes 1.32, the Job first gets FailureTarget or SuccessCriteriaMet and then Failed
or Complete with the same reason; here both are written in one status update, since the
pods are deleted before it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import structlog

from client import jobindexes, kinds
from client.errors import NotFound
from client.events import NORMAL, WARNING
from client.informer import NAMESPACE_INDEX, copy_object
from master.controllers import controller_utils as cu
from master.controllers import job_failure_policy as failure_policy
from master.controllers import job_indexes
from master.controllers import job_success_policy as success_policy
from master.controllers import job_tracking as tracking
from master.controllers.base import Context
from master.controllers.deleting import delete_exact
from master.controllers.owned_pods import OwnedPodsController
from master.controllers.podcontrol import pod_from_template
from proto import core_pb2, meta_pb2, workloads_pb2

log = structlog.get_logger("controllers.job")

Job = workloads_pb2.Job


def finished_condition(job: Job) -> str:
    """ "Complete" or "Failed" when that condition is True, else ""."""
    for c in job.status.conditions:
        if c.type in ("Complete", "Failed") and c.status == "True":
            return c.type
    return ""


def past_backoff_limit(job: Job, pods: list[core_pb2.Pod], failed: int) -> bool:
    """Whether failures (or, for OnFailure pods, container restarts) exceed backoffLimit."""
    limit = job.spec.backoff_limit
    if failed > limit:
        return True
    if job.spec.template.spec.restart_policy != "OnFailure":
        return False
    restarts = sum(
        s.restart_count
        for p in pods
        if cu.is_pod_active(p)
        for s in [*p.status.init_container_statuses, *p.status.container_statuses]
    )
    return restarts > 0 if limit == 0 else restarts >= limit


def wanted_active(job: Job, succeeded: int, active: int) -> int:
    """How many pods should run now."""
    parallelism = job.spec.parallelism
    if not job.spec.HasField("completions"):
        return active if succeeded > 0 else parallelism
    return max(0, min(parallelism, job.spec.completions - succeeded))


def is_complete(job: Job, succeeded: int, active: int) -> bool:
    """Enough pods succeeded."""
    if not job.spec.HasField("completions"):
        return succeeded > 0 and active == 0
    return succeeded >= job.spec.completions


@dataclass
class Tally:
    """What a Job's pods add up to."""

    active: list[core_pb2.Pod]
    """Active pods the Job keeps (for an Indexed Job, one per index still running)."""
    surplus: list[core_pb2.Pod]
    """Active pods an Indexed Job deletes: a second pod for an index, or one whose index
    is done."""
    succeeded: int
    failed: int
    """Failed pods that count: not those a podFailurePolicy rule ignores."""
    succeeded_indexes: set[int] = field(default_factory=set)
    failed_indexes: set[int] = field(default_factory=set)
    active_indexes: list[int] = field(default_factory=list)
    index_failures: dict[int, int] = field(default_factory=dict)
    fail_job: str = ""
    """The message of the first FailJob verdict on a failed pod."""
    terminating: list[core_pb2.Pod] = field(default_factory=list)
    """Pods being deleted that have not finished (`status.terminating`)."""
    ignored: set[str] = field(default_factory=set)
    """The uids of failed pods a podFailurePolicy rule ignores: never counted, released
    at once (judged here once a sync, and read by counting and tracking)."""


def _prior(text: str, completions: int) -> set[int]:
    """Indexes a status already lists (none when the text cannot be read)."""
    try:
        return jobindexes.parse(text, completions)
    except jobindexes.IndexesError:
        return set()


def _failures(pods: list[core_pb2.Pod]) -> list[core_pb2.Pod]:
    """The pods that failed, oldest first: Failed, or deleted before finishing while
    still tracked (a pod the controller deleted itself was released first)."""
    found = (
        p
        for p in pods
        if p.status.phase == "Failed" or (tracking.tracked(p) and tracking.outcome(p) == "Failed")
    )
    # Oldest first, so that the FailJob message names the first pod that earned it.
    return sorted(found, key=lambda p: (p.metadata.creation_timestamp, p.metadata.name))


def tally(job: Job, pods: list[core_pb2.Pod]) -> Tally:
    """Count the Job's pods as Kubernetes does, with its podFailurePolicy and, for an
    Indexed Job, per index: what the status counted already, its uncounted pods, and the
    tracked pods that finished since."""
    active = [p for p in pods if cu.is_pod_active(p)]
    done = [p for p in pods if p.status.phase == "Succeeded"]
    terminating = [
        p
        for p in pods
        if p.metadata.deletion_timestamp and p.status.phase not in ("Succeeded", "Failed")
    ]
    spec, status = job.spec, job.status
    uncounted = status.uncounted_terminated_pods
    succeeded_uids = set(uncounted.succeeded) | {
        p.metadata.uid for p in done if tracking.tracked(p)
    }
    failed_uids = set(uncounted.failed)
    per_index = spec.HasField("backoff_limit_per_index")
    fail_job = ""
    index_failures: Counter[int] = Counter()
    failed_indexes: set[int] = set()
    ignored: set[str] = set()
    for pod in _failures(pods):
        verdict = failure_policy.judge(spec.pod_failure_policy, pod)
        if verdict.action == failure_policy.IGNORE:
            ignored.add(pod.metadata.uid)
            continue
        if tracking.tracked(pod):
            failed_uids.add(pod.metadata.uid)
        if verdict.action == failure_policy.FAIL_JOB and not fail_job:
            fail_job = verdict.message
        index = job_indexes.index_of(pod, spec.completions) if per_index else None
        if index is not None:
            index_failures[index] += 1
            if (
                verdict.action == failure_policy.FAIL_INDEX
                or index_failures[index] > spec.backoff_limit_per_index
            ):
                failed_indexes.add(index)
    counted = status.failed + len(failed_uids)
    if not job_indexes.is_indexed(job):
        succeeded = status.succeeded + len(succeeded_uids)
        return Tally(
            active,
            [],
            succeeded,
            counted,
            fail_job=fail_job,
            terminating=terminating,
            ignored=ignored,
        )
    if per_index:
        failed_indexes |= _prior(status.failed_indexes, spec.completions)
    sorted_pods = job_indexes.sort_pods(
        active,
        done,
        spec.completions,
        failed_indexes,
        done_before=_prior(status.completed_indexes, spec.completions),
    )
    return Tally(
        active=list(sorted_pods.active.values()),
        surplus=sorted_pods.surplus,
        succeeded=len(sorted_pods.succeeded),
        failed=counted,
        succeeded_indexes=sorted_pods.succeeded,
        failed_indexes=failed_indexes - sorted_pods.succeeded,
        active_indexes=list(sorted_pods.active),
        index_failures=dict(index_failures),
        fail_job=fail_job,
        terminating=terminating,
        ignored=ignored,
    )


def _ignored(job: Job, pods: list[core_pb2.Pod]) -> set[str]:
    """Tally's `ignored`, for a Job that is not tallied (finished, only tracked)."""
    return {
        p.metadata.uid
        for p in _failures(pods)
        if failure_policy.judge(job.spec.pod_failure_policy, p).action == failure_policy.IGNORE
    }


def _waiting_for_termination(job: Job, t: Tally) -> int:
    """Pods whose replacements wait for them to be gone: with podReplacementPolicy Failed,
    a pod being deleted still holds its place until it has terminated (for an Indexed
    Job, its index is busy instead, see `_manage`)."""
    if job.spec.pod_replacement_policy != "Failed" or job_indexes.is_indexed(job):
        return 0
    return len(t.terminating)


def _uncount(pods: list[core_pb2.Pod], status: workloads_pb2.JobStatus, ignored: set[str]) -> None:
    """Step 1 of counting (job_tracking.py): the tracked pods that finished since join the
    status' uncounted lists (a failure the podFailurePolicy ignores does not)."""
    uncounted = status.uncounted_terminated_pods
    listed = {*uncounted.succeeded, *uncounted.failed}
    for pod in pods:
        uid = pod.metadata.uid
        if not tracking.tracked(pod) or uid in listed:
            continue
        result = tracking.outcome(pod)
        if result == tracking.SUCCEEDED:
            uncounted.succeeded.append(uid)
        elif result == tracking.FAILED and uid not in ignored:
            uncounted.failed.append(uid)


def _success(job: Job, t: Tally) -> tuple[str, str] | None:
    """Why the Job has succeeded now (reason, message), or None."""
    if job_indexes.is_indexed(job) and job.spec.success_policy.rules:
        message = success_policy.matched(
            job.spec.success_policy, job.spec.completions, t.succeeded_indexes
        )
        if message:
            return "SuccessPolicy", message
    if is_complete(job, t.succeeded, len(t.active)):
        return "CompletionsReached", "Reached expected number of succeeded pods"
    return None


class JobController(OwnedPodsController):
    """batch/v1 Job."""

    name = "job"
    owner_kind = "Job"
    owner_resource = "jobs"
    component = "job-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.jobs = self.owners
        self._failures: dict[str, tuple[int, float]] = {}
        """job key -> (failed count, when that count was first seen) for the back-off."""
        self._released: set[str] = set()
        """Uids of pods whose finalizer this controller removed, until the cache shows it
        gone: a sync reading the cache in between must not count such a pod again (as
        Kubernetes' job controller keeps expectations of its finalizer removals)."""

    def _owner_deleted(self, job: Job) -> None:
        super()._owner_deleted(job)
        self._failures.pop(kinds.key(job), None)

    # -- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """One step of the Job: fail, complete, or keep the wanted number of pods active."""
        job = self._owner(key)
        if job is None:
            await self._release_orphans(key)
            return
        selector = self._selector(job, key)
        if job.metadata.deletion_timestamp:
            # Its pods go with it, counted or not: nothing may hold them back.
            owned = self._owned(job)
            await self._release([p for p in owned if tracking.tracked(p)])
            return
        if finished_condition(job):
            owned = self._owned(job)
            await self._track(job, owned, _ignored(job, owned))
            await self._expire(job, key)
            return
        if selector is None:
            return
        satisfied = self.expectations.satisfied(key)
        pods = self._as_released(await self._claim(job, selector))
        t = tally(job, pods)
        active = t.active
        status = workloads_pb2.JobStatus()
        status.CopyFrom(job.status)
        if not status.start_time and not job.spec.suspend:
            status.start_time = cu.rfc3339()
        if job.spec.HasField("active_deadline_seconds") and status.start_time:
            started = cu.parse_time(status.start_time) or cu.now()
            self.queue.add_after(
                key, max(0.0, started + job.spec.active_deadline_seconds - cu.now()) + 0.5
            )

        failure = self._failure(job, pods, t, status)
        success = None if failure is not None else _success(job, t)
        # As Kubernetes 1.32: FailureTarget or SuccessCriteriaMet first; Failed or Complete
        # only once every pod is counted (`_track`), so a finished Job's counts are final.
        terminal: meta_pb2.Condition | None = None
        if failure is not None:
            reason, message = failure
            await self._delete(job, key, [*active, *t.surplus])
            cu.set_condition(status, cu.new_condition("FailureTarget", "True", reason, message))
            terminal = cu.new_condition("Failed", "True", reason, message)
            await self.events.record(job, WARNING, reason, message)
            active = []
        elif success is not None:
            reason, message = success
            await self._delete(job, key, [*active, *t.surplus])
            active = []
            cu.set_condition(
                status, cu.new_condition("SuccessCriteriaMet", "True", reason, message)
            )
            terminal = cu.new_condition("Complete", "True", reason, message)
            await self.events.record(job, NORMAL, "Completed", "Job completed")
        elif job.spec.suspend:
            await self._delete(job, key, [*active, *t.surplus])
            active = []
        elif satisfied and not job.metadata.deletion_timestamp:
            active = await self._manage(job, key, t)
        status.active = len(active)
        status.ready = sum(1 for p in active if cu.is_pod_ready(p))
        status.terminating = len(t.terminating)
        _uncount(pods, status, t.ignored)
        if job_indexes.is_indexed(job):
            status.succeeded = t.succeeded
            status.completed_indexes = jobindexes.format(t.succeeded_indexes)
        if job.spec.HasField("backoff_limit_per_index"):
            status.failed_indexes = jobindexes.format(t.failed_indexes)
        updated: Job | None = job
        if status != job.status:
            updated = await self._write_status(job, status)
        if updated is None:
            return
        updated = await self._track(updated, pods, t.ignored, terminal)
        if updated is not None and finished_condition(updated):
            log.info("job finished", job=key, condition=finished_condition(updated))
            await self._expire(updated, key)

    async def _write_status(self, job: Job, status: workloads_pb2.JobStatus) -> Job | None:
        """The Job with `status` written; None when it is gone."""
        fresh = copy_object(job)
        fresh.status.CopyFrom(status)
        try:
            return await self.client.update_status(fresh)
        except NotFound:
            return None

    def _failure(
        self, job: Job, pods: list[core_pb2.Pod], t: Tally, status: workloads_pb2.JobStatus
    ) -> tuple[str, str] | None:
        """Why the Job fails now, in Kubernetes' order of causes, or None."""
        if t.fail_job:
            return "PodFailurePolicy", t.fail_job
        if past_backoff_limit(job, pods, t.failed):
            return "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        if job.spec.HasField("active_deadline_seconds") and status.start_time:
            started = cu.parse_time(status.start_time)
            if started is not None and cu.now() - started >= job.spec.active_deadline_seconds:
                return "DeadlineExceeded", "Job was active longer than specified deadline"
        if not job.spec.HasField("backoff_limit_per_index"):
            return None
        failed = len(t.failed_indexes)
        if job.spec.HasField("max_failed_indexes") and failed > job.spec.max_failed_indexes:
            return (
                "MaxFailedIndexesExceeded",
                "Job has exceeded the specified maximal number of failed indexes",
            )
        if failed and failed + len(t.succeeded_indexes) >= job.spec.completions:
            return "FailedIndexes", "Job has failed indexes"
        return None

    async def _manage(self, job: Job, key: str, t: Tally) -> list[core_pb2.Pod]:
        active = t.active
        if job_indexes.is_indexed(job):
            await self._delete(job, key, t.surplus)
            left = job.spec.completions - len(t.succeeded_indexes) - len(t.failed_indexes)
            want = max(0, min(job.spec.parallelism, left))
        else:
            want = wanted_active(job, t.succeeded, len(active))
        diff = len(active) - want
        if diff > 0:
            victims = sorted(active, key=cu.deletion_rank)[:diff]
            await self._delete(job, key, victims)
            return [p for p in active if p not in victims]
        if diff == 0:
            return active
        waiting = _waiting_for_termination(job, t)
        if waiting >= -diff:
            return active  # podReplacementPolicy Failed: replacements once the pods are gone
        wait = self._backoff_left(key, t.failed)
        if wait > 0:
            self.queue.add_after(key, wait)
            return active
        count = min(-diff - waiting, self.settings.burst_replicas)
        if not job_indexes.is_indexed(job):
            await self.pod_control.create_pods(
                key,
                job,
                count,
                lambda: tracking.add_finalizer(pod_from_template(job.spec.template, job)),
            )
            return active  # the new pods count once the cache has them
        busy = t.succeeded_indexes | t.failed_indexes | set(t.active_indexes)
        if job.spec.pod_replacement_policy == "Failed":
            busy |= {
                i
                for p in t.terminating
                if (i := job_indexes.index_of(p, job.spec.completions)) is not None
            }
        indexes = job_indexes.pending(job.spec.completions, busy)[:count]
        todo = iter(indexes)

        def make() -> core_pb2.Pod:
            index = next(todo)
            pod = tracking.add_finalizer(pod_from_template(job.spec.template, job))
            job_indexes.stamp(pod, job, index, t.index_failures.get(index, 0))
            return pod

        if indexes:
            await self.pod_control.create_pods(key, job, len(indexes), make)
        return active

    def _backoff_left(self, key: str, failed: int) -> float:
        """Seconds until replacements for failed pods may be created (exponential)."""
        if failed == 0:
            self._failures.pop(key, None)
            return 0.0
        now = time.monotonic()
        count, since = self._failures.get(key, (0, now))
        if count != failed:
            count, since = failed, now
            self._failures[key] = (count, since)
        base, cap = self.settings.job_backoff_base, self.settings.job_backoff_max
        delay = min(cap, base * 2.0 ** min(failed - 1, 30))
        return max(0.0, since + delay - now)

    async def _delete(self, job: Job, key: str, pods: list[core_pb2.Pod]) -> None:
        """Delete pods the Job no longer wants; released first, so that they are not
        counted as failures (only a pod deleted by someone else is)."""
        if not pods:
            return
        released = await self._release([p for p in pods if tracking.tracked(p)])
        free = [p for p in pods if not tracking.tracked(p) or p.metadata.uid in released]
        if free:
            await self.pod_control.delete_pods(key, job, free)

    def _owned(self, job: Job) -> list[core_pb2.Pod]:
        """The Job's pods in the cache (by their controller reference alone)."""
        namespace, uid = job.metadata.namespace, job.metadata.uid
        return self._as_released(
            [
                p
                for p in self.pods.by_index(NAMESPACE_INDEX, namespace, copy=False)
                if cu.controller_uid(p) == uid
            ]
        )

    async def _release(self, pods: list[core_pb2.Pod]) -> set[str]:
        """Remove the tracking finalizer (job_tracking.release), remembering whose."""
        released = await tracking.release(self.client, pods)
        self._released |= released
        return released

    def _as_released(self, pods: list[core_pb2.Pod]) -> list[core_pb2.Pod]:
        """`pods` as the API has them: without the finalizer this controller removed,
        which the cache may not show yet."""
        out = []
        for pod in pods:
            if pod.metadata.uid in self._released and tracking.tracked(pod):
                pod = copy_object(pod)
                pod.metadata.finalizers.remove(tracking.FINALIZER)
            out.append(pod)
        return out

    async def _track(
        self,
        job: Job,
        pods: list[core_pb2.Pod],
        ignored: set[str],
        terminal: meta_pb2.Condition | None = None,
    ) -> Job | None:
        """Steps 2 and 3 of counting (job_tracking.py): release the pods the status now
        lists as uncounted (and failures the policy ignores), then count them; then, with
        nothing left uncounted, the `terminal` condition (Failed or Complete). The Job as
        written (None: gone)."""
        finished = bool(finished_condition(job))
        uncounted = job.status.uncounted_terminated_pods
        listed = {*uncounted.succeeded, *uncounted.failed}
        releasing = [
            p
            for p in pods
            if tracking.tracked(p)
            and (finished or (tracking.outcome(p) and (p.metadata.uid in listed | ignored)))
        ]
        released = await self._release(releasing) if releasing else set()
        status = workloads_pb2.JobStatus()
        status.CopyFrom(job.status)
        present = {p.metadata.uid for p in pods if tracking.tracked(p)} - released
        if listed and tracking.settle(status, released, present) and job_indexes.is_indexed(job):
            status.succeeded = job.status.succeeded  # the completed indexes, counted already
        left = status.uncounted_terminated_pods
        if terminal is not None and not left.succeeded and not left.failed:
            cu.set_condition(status, terminal)
            if terminal.type == "Complete":
                status.completion_time = cu.rfc3339()
        if status == job.status:
            return job
        return await self._write_status(job, status)

    async def _release_orphans(self, key: str) -> None:
        """A deleted Job's pods may still carry the finalizer: release them, once the API
        confirms the Job is gone (the cache may not have seen a new Job yet)."""
        namespace, _, name = key.partition("/")
        orphans = [
            p
            for p in self.pods.by_index(NAMESPACE_INDEX, namespace, copy=False)
            if tracking.tracked(p)
            and (ref := cu.controller_ref(p)) is not None
            and ref.kind == "Job"
            and ref.name == name
        ]
        if not orphans:
            return
        try:
            live = await self.client.get("jobs", namespace, name)
        except NotFound:
            live = None
        uid = live.metadata.uid if live is not None else ""
        await self._release([p for p in orphans if cu.controller_uid(p) != uid])

    def _pod_added(self, pod: core_pb2.Pod) -> None:
        super()._pod_added(pod)
        self._orphan_check(pod)

    def _pod_updated(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        super()._pod_updated(old, new)
        if not tracking.tracked(new):
            self._released.discard(new.metadata.uid)
        self._orphan_check(new)

    def _pod_deleted(self, pod: core_pb2.Pod) -> None:
        super()._pod_deleted(pod)
        self._released.discard(pod.metadata.uid)

    def _orphan_check(self, pod: core_pb2.Pod) -> None:
        """Queue the Job of a tracked pod whose Job the cache does not hold."""
        if not tracking.tracked(pod):
            return
        ref = cu.controller_ref(pod)
        if ref is None or ref.kind != "Job":
            return
        key = f"{pod.metadata.namespace}/{ref.name}"
        job = self.owners.get(key, copy=False)
        if job is None or job.metadata.uid != ref.uid:
            self.queue.add(key)

    async def _expire(self, job: Job, key: str) -> None:
        """Delete a finished Job once its ttlSecondsAfterFinished has passed."""
        if not job.spec.HasField("ttl_seconds_after_finished") or job.metadata.deletion_timestamp:
            return
        cond = next((c for c in job.status.conditions if c.type == finished_condition(job)), None)
        finished = cu.parse_time(job.status.completion_time) or (
            cu.parse_time(cond.last_transition_time) if cond is not None else None
        )
        if finished is None:
            return
        left = finished + job.spec.ttl_seconds_after_finished - cu.now()
        if left > 0:
            self.queue.add_after(key, left + 0.5)
            return
        if not await delete_exact(self.client, "jobs", job, propagation_policy="Foreground"):
            return
        log.info("deleted finished job after its TTL", job=key)

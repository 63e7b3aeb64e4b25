"""CronJobs: kube-state-metrics' kube_cronjob_* families, next schedule time included.

The next schedule time is computed here from the schedule and zone, as kube-state-metrics
computes it, rather than read from the object: Kubernetes stores only the last one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from client import cron
from master.statemetrics.families import Families
from proto import workloads_pb2


def cron_job_metrics(cj: workloads_pb2.CronJob, out: Families) -> None:
    """Every kube_cronjob_* series of one CronJob."""
    m, spec, st = cj.metadata, cj.spec, cj.status
    labels = {"namespace": m.namespace, "cronjob": m.name}
    out.gauge(
        "kube_cronjob_info",
        "Information about a CronJob.",
        {
            **labels,
            "schedule": spec.schedule,
            "concurrency_policy": spec.concurrency_policy,
            "timezone": spec.time_zone if spec.HasField("time_zone") else "local",
        },
        1,
    )
    out.created("cronjob", "CronJob", labels, m.creation_timestamp)
    out.gauge(
        "kube_cronjob_spec_suspend",
        "Whether the CronJob is suspended.",
        labels,
        1 if spec.suspend else 0,
    )
    out.gauge("kube_cronjob_status_active", "Jobs of the CronJob running.", labels, len(st.active))
    out.timestamp(
        "kube_cronjob_status_last_schedule_time",
        "Unix time the CronJob last started a Job.",
        labels,
        st.last_schedule_time,
    )
    out.timestamp(
        "kube_cronjob_status_last_successful_time",
        "Unix time a Job of the CronJob last succeeded.",
        labels,
        st.last_successful_time,
    )
    if spec.HasField("starting_deadline_seconds"):
        out.gauge(
            "kube_cronjob_spec_starting_deadline_seconds",
            "Seconds after its time a missed Job may still start.",
            labels,
            spec.starting_deadline_seconds,
        )
    out.gauge(
        "kube_cronjob_spec_successful_job_history_limit",
        "Succeeded Jobs the CronJob keeps.",
        labels,
        spec.successful_jobs_history_limit,
    )
    out.gauge(
        "kube_cronjob_spec_failed_job_history_limit",
        "Failed Jobs the CronJob keeps.",
        labels,
        spec.failed_jobs_history_limit,
    )
    following = _next_time(spec)
    if following is not None:
        out.gauge(
            "kube_cronjob_next_schedule_time",
            "Unix time the CronJob is next due to start a Job.",
            labels,
            following.timestamp(),
        )


def _next_time(spec: workloads_pb2.CronJobSpec) -> datetime | None:
    try:
        schedule = cron.parse(spec.schedule)
        where = cron.zone(spec.time_zone)
    except cron.CronError:
        return None
    return schedule.next_after(datetime.now(UTC), where)

"""CronJobs: a schedule, a zone, a policy, limits, and a Job template valid as a Job.

The job template is checked by making the Job the controller would make from it (with
the generated selector a Job gets) and running the Job's own checks, with each path moved
under `spec.jobTemplate`: a template is then refused at the CronJob's create for exactly
what would refuse its Jobs every minute afterwards, with the same words.
"""

from __future__ import annotations

from client import cron
from master.apiserver import defaults
from master.apiserver.validation.errors import Errors
from master.apiserver.validation.workloads import validate_job
from proto import workloads_pb2

__all__ = ["CONCURRENCY_POLICIES", "MAX_NAME", "validate_cron_job"]

CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
MAX_NAME = 52
"""A Job's name is the CronJob's and 11 characters more, within the 63 of a label value."""


def validate_cron_job(errs: Errors, cj: workloads_pb2.CronJob) -> None:
    """The name's length, the schedule, time zone, policy, limits and the job template."""
    if len(cj.metadata.name) > MAX_NAME:
        errs.invalid(
            "metadata.name", cj.metadata.name, f"must be no more than {MAX_NAME} characters"
        )
    spec = cj.spec
    if not spec.schedule:
        errs.required("spec.schedule")
    else:
        try:
            cron.parse(spec.schedule)
        except cron.CronError as e:
            errs.invalid("spec.schedule", spec.schedule, str(e))
    if spec.HasField("time_zone"):
        _time_zone(errs, spec.time_zone)
    errs.enum(
        "spec.concurrencyPolicy", spec.concurrency_policy, CONCURRENCY_POLICIES, required=True
    )
    for field, json_name in (
        ("starting_deadline_seconds", "startingDeadlineSeconds"),
        ("successful_jobs_history_limit", "successfulJobsHistoryLimit"),
        ("failed_jobs_history_limit", "failedJobsHistoryLimit"),
    ):
        if spec.HasField(field):
            errs.non_negative(f"spec.{json_name}", getattr(spec, field))
    if not spec.HasField("job_template"):
        errs.required("spec.jobTemplate")
        return
    template_errors = Errors()
    validate_job(template_errors, job_from_template(cj))
    for problem in template_errors:
        errs.add(_under_template(problem.path), problem.detail)


def _time_zone(errs: Errors, name: str) -> None:
    # Kubernetes' three refusals: empty, the machine's own "Local", and unknown names.
    if not name:
        errs.invalid("spec.timeZone", name, "timeZone must be nil or non-empty string")
    elif name.lower() == "local":
        errs.invalid(
            "spec.timeZone",
            name,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        )
    else:
        try:
            cron.zone(name)
        except cron.CronError:
            errs.invalid("spec.timeZone", name, "unknown time zone")


def job_from_template(cj: workloads_pb2.CronJob) -> workloads_pb2.Job:
    """The Job (defaulted, not yet named) that the template describes."""
    job = workloads_pb2.Job(api_version="batch/v1", kind="Job")
    job.metadata.CopyFrom(cj.spec.job_template.metadata)
    job.metadata.name = cj.metadata.name or "cronjob"
    job.spec.CopyFrom(cj.spec.job_template.spec)
    defaults.default_job(job)
    return job


def _under_template(path: str) -> str:
    head, dot, rest = path.partition(".")
    if head == "spec":
        return f"spec.jobTemplate.spec{dot}{rest}"
    return f"spec.jobTemplate.{path}"

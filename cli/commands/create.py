"""`tug create namespace NAME` and `tug create job NAME --from=cronjob/CJ`: the imperative
creators kubectl users reach for first (the second runs a CronJob's Job now, by hand)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.errors import CliError
from cli.invocation import Invocation
from client import errors, kinds
from client.api import ApiClient
from client.kinds import Object
from proto import workloads_pb2


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug create`."""
    p = sub.add_parser("create", parents=[common], help="create an object")
    what = p.add_subparsers(dest="what", metavar="KIND", required=True)
    ns = what.add_parser("namespace", aliases=["ns"], parents=[common], help="a namespace")
    ns.add_argument("name")
    ns.set_defaults(func=create_namespace)
    job = what.add_parser("job", parents=[common], help="a Job from a CronJob's template")
    job.add_argument("name")
    job.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="cronjob/NAME",
        help="the CronJob whose job template to run now",
    )
    job.set_defaults(func=create_job)


async def create_namespace(inv: Invocation) -> int:
    """Create a namespace: `namespace/NAME created`."""
    kind = kinds.by_resource("namespaces")
    obj = kind.new()
    obj.metadata.name = inv.args.name
    async with inv.client() as api:
        await _create(api, obj, "namespaces")
    inv.out(f"namespace/{inv.args.name} created")
    return 0


async def _create(api: ApiClient, obj: Object, plural: str) -> None:
    """Create `obj`; its refusal in kubectl's words (`plural` as kubectl names the kind)."""
    try:
        await api.create(obj)
    except errors.AlreadyExists:
        raise CliError(f'{plural} "{obj.metadata.name}" already exists') from None
    except errors.Invalid as e:
        raise CliError(e.message) from None


MANUAL = "cronjob.kubernetes.io/instantiate"
"""kubectl marks a Job made by hand from a CronJob with this annotation, set to manual."""


async def create_job(inv: Invocation) -> int:
    """Run a CronJob's template now, as a Job the CronJob owns: `job.batch/NAME created`."""
    resource, slash, source = inv.args.source.partition("/")
    if not slash or not source or resource not in ("cronjob", "cronjobs", "cj"):
        raise CliError(
            f"--from: {inv.args.source!r} is not cronjob/NAME (only CronJobs can be a source)"
        )
    namespace = inv.namespace()
    async with inv.client() as api:
        try:
            cj = await api.get("cronjobs", namespace, source)
        except errors.NotFound:
            raise CliError(f'cronjobs.batch "{source}" not found') from None
        assert isinstance(cj, workloads_pb2.CronJob)
        job = workloads_pb2.Job(api_version="batch/v1", kind="Job")
        job.metadata.CopyFrom(cj.spec.job_template.metadata)
        job.metadata.name = inv.args.name
        job.metadata.namespace = namespace
        job.metadata.annotations[MANUAL] = "manual"
        job.metadata.owner_references.add(
            api_version="batch/v1",
            kind="CronJob",
            name=cj.metadata.name,
            uid=cj.metadata.uid,
            controller=True,
        )
        job.spec.CopyFrom(cj.spec.job_template.spec)
        await _create(api, job, "jobs.batch")
    inv.out(f"job.batch/{inv.args.name} created")
    return 0

"""`tug rollout status|history|undo|restart|pause|resume deploy/NAME` (and sts/NAME), as
kubectl has them.

- status waits until the rollout finishes, printing each new state, and exits 1 when the
  Deployment reports ProgressDeadlineExceeded (or when --timeout passes); a StatefulSet's
  is read from its revisions and counts, with kubectl's words, partitions included;
- history lists the revisions (a Deployment's ReplicaSets, a StatefulSet's
  ControllerRevisions); --revision N shows that template;
- undo copies an older revision's pod template back into the workload (the previous
  one, or --to-revision N); the controller then rolls to it and gives it a new revision;
- restart stamps `kubectl.kubernetes.io/restartedAt` into the template, which rolls every
  pod; pause and resume set a Deployment's spec.paused (StatefulSets cannot pause).

A revision is read the same way whatever keeps it (`Revision`), so history and undo have
one code path for both kinds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from cli.commands._workloads import get, label, modify, target
from cli.errors import CliError
from cli.invocation import Invocation
from client import codec
from client.api import ApiClient
from client.flags import seconds
from client.kinds import Kind
from client.timestamps import now
from proto import core_pb2, workloads_pb2

ROLLABLE = ("deployments", "statefulsets")
PAUSABLE = ("deployments",)
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
POD_TEMPLATE_HASH = "pod-template-hash"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
STATUS_POLL = 0.5
"""Seconds between looks at the Deployment while `rollout status` waits."""
STATUS_LIMIT = 24 * 3600.0
"""The longest `rollout status` waits when no --timeout is given."""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `tug rollout`."""
    p = sub.add_parser("rollout", parents=[common], help="manage the rollout of a deployment")
    what = p.add_subparsers(dest="what", metavar="ACTION", required=True)

    status = what.add_parser("status", parents=[common], help="wait for a rollout to finish")
    status.add_argument("resource", nargs="+", metavar="TYPE/NAME")
    status.add_argument("-w", "--watch", action=argparse.BooleanOptionalAction, default=True)
    status.add_argument("--timeout", type=seconds, default=0.0, help="seconds (0: no limit)")
    status.set_defaults(func=run_status)

    history = what.add_parser("history", parents=[common], help="list the revisions")
    history.add_argument("resource", nargs="+", metavar="TYPE/NAME")
    history.add_argument("--revision", type=int, default=0, help="show this revision's template")
    history.set_defaults(func=run_history)

    undo = what.add_parser("undo", parents=[common], help="roll back to an earlier revision")
    undo.add_argument("resource", nargs="+", metavar="TYPE/NAME")
    undo.add_argument("--to-revision", type=int, default=0, help="default: the previous one")
    undo.set_defaults(func=run_undo)

    for name, func, text in (
        ("restart", run_restart, "restart every pod by a rollout"),
        ("pause", run_pause, "stop rolling out template changes"),
        ("resume", run_resume, "roll out template changes again"),
    ):
        q = what.add_parser(name, parents=[common], help=text)
        q.add_argument("resource", nargs="+", metavar="TYPE/NAME")
        q.set_defaults(func=func)


# ---- status ----


def status_message(d: workloads_pb2.Deployment) -> tuple[str, bool]:
    """kubectl's rollout status line for `d`, and whether the rollout is done.

    Raises CliError when the Deployment missed its progress deadline.
    """
    name = d.metadata.name
    if d.metadata.generation > d.status.observed_generation:
        return "Waiting for deployment spec update to be observed...", False
    for cond in d.status.conditions:
        if cond.type == "Progressing" and cond.reason == "ProgressDeadlineExceeded":
            raise CliError(f'deployment "{name}" exceeded its progress deadline')
    s = d.status
    want = d.spec.replicas
    if s.updated_replicas < want:
        return (
            f'Waiting for deployment "{name}" rollout to finish: {s.updated_replicas} out of '
            f"{want} new replicas have been updated...",
            False,
        )
    if s.replicas > s.updated_replicas:
        return (
            f'Waiting for deployment "{name}" rollout to finish: '
            f"{s.replicas - s.updated_replicas} old replicas are pending termination...",
            False,
        )
    if s.available_replicas < s.updated_replicas:
        return (
            f'Waiting for deployment "{name}" rollout to finish: {s.available_replicas} of '
            f"{s.updated_replicas} updated replicas are available...",
            False,
        )
    return f'deployment "{name}" successfully rolled out', True


def stateful_set_status_message(sts: workloads_pb2.StatefulSet) -> tuple[str, bool]:
    """kubectl's rollout status line for a StatefulSet, and whether the rollout is done."""
    if sts.spec.update_strategy.type != "RollingUpdate":
        raise CliError("rollout status is only available for RollingUpdate strategy type")
    s = sts.status
    if s.observed_generation == 0 or sts.metadata.generation > s.observed_generation:
        return "Waiting for statefulset spec update to be observed...", False
    want = sts.spec.replicas
    if s.ready_replicas < want:
        return f"Waiting for {want - s.ready_replicas} pods to be ready...", False
    partition = sts.spec.update_strategy.rolling_update.partition
    if partition > 0:
        if s.updated_replicas < want - partition:
            return (
                f"Waiting for partitioned roll out to finish: {s.updated_replicas} out of "
                f"{want - partition} new pods have been updated...",
                False,
            )
        return (
            f"partitioned roll out complete: {s.updated_replicas} new pods have been updated...",
            True,
        )
    if s.update_revision != s.current_revision:
        return (
            f"waiting for statefulset rolling update to complete {s.updated_replicas} pods at "
            f"revision {s.update_revision}...",
            False,
        )
    return (
        f"statefulset rolling update complete {s.current_replicas} pods at revision "
        f"{s.current_revision}...",
        True,
    )


def _status_message(obj: Any) -> tuple[str, bool]:
    if isinstance(obj, workloads_pb2.StatefulSet):
        return stateful_set_status_message(obj)
    return status_message(obj)


async def run_status(inv: Invocation) -> int:
    """Print the rollout's progress until it is done (exit 0) or fails (exit 1)."""
    kind, name = target(inv.args.resource, ROLLABLE)
    limit = inv.args.timeout if inv.args.timeout > 0 else STATUS_LIMIT
    deadline = time.monotonic() + limit
    last = ""
    async with inv.client() as api:
        # One look per STATUS_POLL until done, failed or out of time.
        while True:
            d = await get(api, kind, inv.namespace(), name)
            message, done = _status_message(d)
            if message != last:
                inv.out(message)
                last = message
            if done or not inv.args.watch:
                return 0
            if time.monotonic() >= deadline:
                raise CliError("timed out waiting for the condition")
            await asyncio.sleep(STATUS_POLL)


# ---- history and undo ----


@dataclass(frozen=True)
class Revision:
    """One revision of a workload: its number, its pod template, and its annotations."""

    number: int
    template: core_pb2.PodTemplateSpec
    annotations: Mapping[str, str]


def _owned_by(obj: Any, owner: Any) -> bool:
    return any(r.uid == owner.metadata.uid and r.controller for r in obj.metadata.owner_references)


async def revisions(api: ApiClient, workload: Any) -> dict[int, Revision]:
    """The workload's revisions by number: a Deployment's ReplicaSets, a StatefulSet's
    ControllerRevisions."""
    namespace = workload.metadata.namespace
    found: dict[int, Revision] = {}
    if isinstance(workload, workloads_pb2.StatefulSet):
        for cr in (await api.list("controllerrevisions", namespace)).items:
            if isinstance(cr, workloads_pb2.ControllerRevision) and _owned_by(cr, workload):
                data = json.loads(cr.data.json or "{}")
                template = codec.from_dict(
                    core_pb2.PodTemplateSpec, data.get("spec", {}).get("template", {})
                )
                found[cr.revision] = Revision(cr.revision, template, cr.metadata.annotations)
        return found
    for rs in (await api.list("replicasets", namespace)).items:
        if not isinstance(rs, workloads_pb2.ReplicaSet) or not _owned_by(rs, workload):
            continue
        try:
            number = int(rs.metadata.annotations.get(REVISION, "0"))
        except ValueError:
            continue
        template = core_pb2.PodTemplateSpec()
        template.CopyFrom(rs.spec.template)
        template.metadata.labels.pop(POD_TEMPLATE_HASH, None)
        found[number] = Revision(number, template, rs.metadata.annotations)
    return found


async def run_history(inv: Invocation) -> int:
    """List revisions, or show one."""
    kind, name = target(inv.args.resource, ROLLABLE)
    async with inv.client() as api:
        d = await get(api, kind, inv.namespace(), name)
        history = await revisions(api, d)
    if inv.args.revision:
        revision = history.get(inv.args.revision)
        if revision is None:
            raise CliError(f"unable to find the specified revision {inv.args.revision}")
        inv.out(f"{label(kind, name)} with revision #{inv.args.revision}")
        inv.out("Pod Template:")
        shown = codec.to_dict(revision.template)
        text = yaml.safe_dump(shown, sort_keys=False, default_flow_style=False)
        for line in text.rstrip().splitlines():
            inv.out(f"  {line}")
        return 0
    inv.out(label(kind, name))
    inv.out(f"{'REVISION':<10}CHANGE-CAUSE")
    for number in sorted(n for n in history if n > 0):
        cause = history[number].annotations.get(CHANGE_CAUSE, "<none>")
        inv.out(f"{number:<10}{cause}")
    return 0


async def run_undo(inv: Invocation) -> int:
    """Copy an earlier revision's template back into the Deployment."""
    kind, name = target(inv.args.resource, ROLLABLE)
    wanted = inv.args.to_revision
    async with inv.client() as api:
        d = await get(api, kind, inv.namespace(), name)
        if isinstance(d, workloads_pb2.Deployment) and d.spec.paused:
            raise CliError(
                f"you cannot rollback a paused deployment; resume it first with "
                f"'tug rollout resume {label(kind, name)}' and try again"
            )
        history = await revisions(api, d)
        source = _pick_revision(history, wanted)
        template = source.template

        def change(obj: Any) -> bool:
            if obj.spec.template == template:
                return False
            obj.spec.template.CopyFrom(template)
            cause = source.annotations.get(CHANGE_CAUSE)
            if cause:
                obj.metadata.annotations[CHANGE_CAUSE] = cause
            return True

        _, changed = await modify(api, kind, inv.namespace(), name, change)
    if not changed:
        number = source.number
        inv.out(
            f"{label(kind, name)} skipped rollback (current template already matches revision "
            f"{number})"
        )
    else:
        inv.out(f"{label(kind, name)} rolled back")
    return 0


def _pick_revision(history: dict[int, Revision], wanted: int) -> Revision:
    if wanted < 0:
        raise CliError("--to-revision: must be a non-negative number")
    if wanted:
        if wanted not in history:
            raise CliError(f"unable to find specified revision {wanted} in history")
        return history[wanted]
    numbers = sorted(n for n in history if n > 0)
    if len(numbers) < 2:
        raise CliError("no rollout history found for the previous revision")
    return history[numbers[-2]]


# ---- restart, pause, resume ----


async def _simple(
    inv: Invocation, change: Any, done: str, same: str, allowed: tuple[str, ...] = ROLLABLE
) -> int:
    kind, name = target(inv.args.resource, allowed)
    async with inv.client() as api:
        _, changed = await modify(api, kind, inv.namespace(), name, lambda d: change(kind, d))
    inv.out(f"{label(kind, name)} {done if changed else same}")
    return 0


async def run_restart(inv: Invocation) -> int:
    """Roll every pod by stamping the template."""

    def change(kind: Kind, d: Any) -> bool:
        if isinstance(d, workloads_pb2.Deployment) and d.spec.paused:
            raise CliError(
                f"can't restart paused deployment (run rollout resume first): "
                f"{label(kind, d.metadata.name)}"
            )
        stamp = now()
        d.spec.template.metadata.annotations[RESTARTED_AT] = stamp
        return True

    return await _simple(inv, change, "restarted", "restarted")


async def run_pause(inv: Invocation) -> int:
    """Set spec.paused."""

    def change(kind: Kind, d: Any) -> bool:
        if d.spec.paused:
            return False
        d.spec.paused = True
        return True

    return await _simple(inv, change, "paused", "already paused", PAUSABLE)


async def run_resume(inv: Invocation) -> int:
    """Clear spec.paused."""

    def change(kind: Kind, d: Any) -> bool:
        if not d.spec.paused:
            return False
        d.spec.paused = False
        return True

    return await _simple(inv, change, "resumed", "not paused", PAUSABLE)

"""`tug rollout status|history|undo|restart|pause|resume deploy/NAME`, as kubectl has them.

- status waits until the rollout finishes, printing each new state, and exits 1 when the
  Deployment reports ProgressDeadlineExceeded (or when --timeout passes);
- history lists the revisions (one per ReplicaSet); --revision N shows that template;
- undo copies an older revision's pod template back into the Deployment (the previous
  one, or --to-revision N); the controller then rolls to it and gives it a new revision;
- restart stamps `kubectl.kubernetes.io/restartedAt` into the template, which rolls every
  pod; pause and resume set spec.paused.
"""

from __future__ import annotations

import argparse
import asyncio
import time
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
from proto import workloads_pb2

ROLLABLE = ("deployments",)
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
            message, done = status_message(d)
            if message != last:
                inv.out(message)
                last = message
            if done or not inv.args.watch:
                return 0
            if time.monotonic() >= deadline:
                raise CliError("timed out waiting for the condition")
            await asyncio.sleep(STATUS_POLL)


# ---- history and undo ----


async def revisions(
    api: ApiClient, d: workloads_pb2.Deployment
) -> dict[int, workloads_pb2.ReplicaSet]:
    """The Deployment's ReplicaSets by revision."""
    page = await api.list("replicasets", d.metadata.namespace)
    found: dict[int, workloads_pb2.ReplicaSet] = {}
    for rs in page.items:
        assert isinstance(rs, workloads_pb2.ReplicaSet)
        if not any(r.uid == d.metadata.uid and r.controller for r in rs.metadata.owner_references):
            continue
        try:
            found[int(rs.metadata.annotations.get(REVISION, "0"))] = rs
        except ValueError:
            continue
    return found


def _template_dict(rs: workloads_pb2.ReplicaSet) -> Any:
    template = workloads_pb2.ReplicaSet().spec.template
    template.CopyFrom(rs.spec.template)
    template.metadata.labels.pop(POD_TEMPLATE_HASH, None)
    return codec.to_dict(template)


async def run_history(inv: Invocation) -> int:
    """List revisions, or show one."""
    kind, name = target(inv.args.resource, ROLLABLE)
    async with inv.client() as api:
        d = await get(api, kind, inv.namespace(), name)
        history = await revisions(api, d)
    if inv.args.revision:
        rs = history.get(inv.args.revision)
        if rs is None:
            raise CliError(f"unable to find the specified revision {inv.args.revision}")
        inv.out(f"{label(kind, name)} with revision #{inv.args.revision}")
        inv.out("Pod Template:")
        text = yaml.safe_dump(_template_dict(rs), sort_keys=False, default_flow_style=False)
        for line in text.rstrip().splitlines():
            inv.out(f"  {line}")
        return 0
    inv.out(label(kind, name))
    inv.out(f"{'REVISION':<10}CHANGE-CAUSE")
    for number in sorted(n for n in history if n > 0):
        cause = history[number].metadata.annotations.get(CHANGE_CAUSE, "<none>")
        inv.out(f"{number:<10}{cause}")
    return 0


async def run_undo(inv: Invocation) -> int:
    """Copy an earlier revision's template back into the Deployment."""
    kind, name = target(inv.args.resource, ROLLABLE)
    wanted = inv.args.to_revision
    async with inv.client() as api:
        d = await get(api, kind, inv.namespace(), name)
        if d.spec.paused:
            raise CliError(
                f"you cannot rollback a paused deployment; resume it first with "
                f"'tug rollout resume {label(kind, name)}' and try again"
            )
        history = await revisions(api, d)
        source = _pick_revision(history, wanted)
        template = workloads_pb2.ReplicaSet().spec.template
        template.CopyFrom(source.spec.template)
        template.metadata.labels.pop(POD_TEMPLATE_HASH, None)

        def change(obj: Any) -> bool:
            if obj.spec.template == template:
                return False
            obj.spec.template.CopyFrom(template)
            cause = source.metadata.annotations.get(CHANGE_CAUSE)
            if cause:
                obj.metadata.annotations[CHANGE_CAUSE] = cause
            return True

        _, changed = await modify(api, kind, inv.namespace(), name, change)
    if not changed:
        number = source.metadata.annotations.get(REVISION, "?")
        inv.out(
            f"{label(kind, name)} skipped rollback (current template already matches revision "
            f"{number})"
        )
    else:
        inv.out(f"{label(kind, name)} rolled back")
    return 0


def _pick_revision(
    history: dict[int, workloads_pb2.ReplicaSet], wanted: int
) -> workloads_pb2.ReplicaSet:
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


async def _simple(inv: Invocation, change: Any, done: str, same: str) -> int:
    kind, name = target(inv.args.resource, ROLLABLE)
    async with inv.client() as api:
        _, changed = await modify(api, kind, inv.namespace(), name, lambda d: change(kind, d))
    inv.out(f"{label(kind, name)} {done if changed else same}")
    return 0


async def run_restart(inv: Invocation) -> int:
    """Roll every pod by stamping the template."""

    def change(kind: Kind, d: Any) -> bool:
        if d.spec.paused:
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

    return await _simple(inv, change, "paused", "already paused")


async def run_resume(inv: Invocation) -> int:
    """Clear spec.paused."""

    def change(kind: Kind, d: Any) -> bool:
        if not d.spec.paused:
            return False
        d.spec.paused = False
        return True

    return await _simple(inv, change, "resumed", "not paused")

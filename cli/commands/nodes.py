"""Node commands: `tug cordon|uncordon|drain NODE`, `tug taint nodes ...`, `tug label ...`.

Each change is a read-modify-write guarded by the object's resourceVersion, retried a
few times on Conflict (someone else, e.g. the kubelet, changed the object meanwhile).
`drain` evicts, as kubectl does: a pod whose PodDisruptionBudget allows no disruption
now is tried again every five seconds until the timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from cli.errors import CliError
from cli.invocation import Invocation
from client import errors, kinds
from client.api import ApiClient
from client.flags import seconds
from proto import core_pb2

MAX_CONFLICT_RETRIES = 5
DRAIN_TIMEOUT = 120.0
EVICTION_RETRY = 5.0
"""Seconds between evictions a disruption budget refused (kubectl drain's five)."""
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add cordon, uncordon, drain, taint and label."""
    c = sub.add_parser("cordon", parents=[common], help="mark a node unschedulable")
    c.add_argument("node")
    c.set_defaults(func=cordon)
    u = sub.add_parser("uncordon", parents=[common], help="mark a node schedulable")
    u.add_argument("node")
    u.set_defaults(func=uncordon)
    d = sub.add_parser("drain", parents=[common], help="cordon a node and evict its pods")
    d.add_argument("node")
    d.add_argument("--grace-period", type=int, default=-1, help="override each pod's grace")
    d.add_argument("--timeout", type=seconds, default=DRAIN_TIMEOUT, help="seconds to wait")
    d.add_argument(
        "--ignore-daemonsets", action="store_true", help="accepted; DaemonSet pods always stay"
    )
    d.set_defaults(func=drain)
    t = sub.add_parser("taint", parents=[common], help="add or remove node taints")
    t.add_argument("kind", metavar="nodes")
    t.add_argument("node")
    t.add_argument("taints", nargs="+", metavar="KEY[=VALUE]:EFFECT | KEY[:EFFECT]-")
    t.add_argument("--overwrite", action="store_true")
    t.set_defaults(func=taint)
    lb = sub.add_parser("label", parents=[common], help="add or remove labels")
    lb.add_argument("words", nargs="+", metavar="KIND NAME | KIND/NAME, then KEY=VALUE | KEY-")
    lb.add_argument("--overwrite", action="store_true")
    lb.set_defaults(func=label)


async def _modify(
    api: ApiClient, resource: str, ns: str, name: str, change: Callable[[Any], bool]
) -> bool:
    """Apply `change` to a fresh copy and update; False when it changed nothing."""
    for _ in range(MAX_CONFLICT_RETRIES):
        obj: Any = await api.get(resource, ns, name)
        if not change(obj):
            return False
        try:
            await api.update(obj)
            return True
        except errors.Conflict:
            continue
    raise CliError(f"{resource} {name!r} kept changing; gave up after {MAX_CONFLICT_RETRIES} tries")


async def _set_unschedulable(inv: Invocation, value: bool) -> int:
    name = inv.args.node

    def change(node: core_pb2.Node) -> bool:
        if node.spec.unschedulable == value:
            return False
        node.spec.unschedulable = value
        return True

    async with inv.client() as api:
        changed = await _modify(api, "nodes", "", name, change)
    word = "cordoned" if value else "uncordoned"
    inv.out(f"node/{name} {word}" if changed else f"node/{name} already {word}")
    return 0


async def cordon(inv: Invocation) -> int:
    """Mark the node unschedulable: new pods go elsewhere, running ones stay."""
    return await _set_unschedulable(inv, True)


async def uncordon(inv: Invocation) -> int:
    """Mark the node schedulable again."""
    return await _set_unschedulable(inv, False)


def _daemon_pod(pod: core_pb2.Pod) -> bool:
    return any(ref.kind == "DaemonSet" for ref in pod.metadata.owner_references)


async def drain(inv: Invocation) -> int:
    """Cordon, delete every pod on the node but DaemonSet pods, wait until they are gone."""
    args = inv.args
    name = args.node
    grace = args.grace_period if args.grace_period >= 0 else None
    async with inv.client() as api:
        await _modify(api, "nodes", "", name, _cordon_change)
        inv.out(f"node/{name} cordoned")
        listed = await api.list("pods", "", field_selector=f"spec.nodeName={name}")
        pods = [p for p in listed.items if isinstance(p, core_pb2.Pod)]
        kept = [p for p in pods if _daemon_pod(p)]
        if kept:
            names = ", ".join(f"{p.metadata.namespace}/{p.metadata.name}" for p in kept)
            inv.err(f"Warning: ignoring DaemonSet-managed Pods: {names}")
        evict = [
            p for p in pods if not _daemon_pod(p) and p.status.phase not in ("Succeeded", "Failed")
        ]
        deadline = time.monotonic() + args.timeout
        refused = await _evict_all(inv, api, evict, grace, deadline)
        if refused:
            names = ", ".join(f"{p.metadata.namespace}/{p.metadata.name}" for p in refused)
            inv.err(f"error: timed out after {args.timeout:g}s evicting pods: {names}")
            return 1
        left = await _wait_gone(api, evict, max(0.0, deadline - time.monotonic()))
        for p in evict:
            if (p.metadata.namespace, p.metadata.name) not in left:
                inv.out(f"pod/{p.metadata.name} evicted")
        if left:
            names = ", ".join(f"{ns}/{n}" for ns, n in sorted(left))
            inv.err(f"error: timed out after {args.timeout:g}s waiting for pods to go: {names}")
            return 1
    inv.out(f"node/{name} drained")
    return 0


async def _evict_all(
    inv: Invocation,
    api: ApiClient,
    pods: list[core_pb2.Pod],
    grace: int | None,
    deadline: float,
) -> list[core_pb2.Pod]:
    """Evict each pod; those a disruption budget refuses are tried again every
    EVICTION_RETRY seconds until `deadline`, as kubectl drain does. The ones still refused."""
    pending = list(pods)
    while pending:
        refused = []
        for p in pending:
            ns, n = p.metadata.namespace, p.metadata.name
            try:
                await api.delete(
                    "pods", ns, n, grace_period_seconds=grace, precondition_uid=p.metadata.uid,
                    eviction=True,
                )  # fmt: skip
                inv.out(f"evicting pod {ns}/{n}")
            except errors.NotFound:
                continue
            except errors.TooManyRequests as e:
                inv.err(
                    f'error when evicting pods/"{n}" -n "{ns}" '
                    f"(will retry after {EVICTION_RETRY:g}s): {e.message}"
                )
                refused.append(p)
        pending = refused
        if not pending or time.monotonic() + EVICTION_RETRY > deadline:
            break
        await asyncio.sleep(EVICTION_RETRY)
    return pending


def _cordon_change(node: core_pb2.Node) -> bool:
    if node.spec.unschedulable:
        return False
    node.spec.unschedulable = True
    return True


async def _wait_gone(
    api: ApiClient, pods: list[core_pb2.Pod], limit: float
) -> set[tuple[str, str]]:
    """The pods still there (same uid) after waiting at most `limit` seconds."""
    left = {(p.metadata.namespace, p.metadata.name): p.metadata.uid for p in pods}
    deadline = time.monotonic() + limit
    delay = 0.05
    while left and time.monotonic() < deadline:
        for (ns, n), uid in list(left.items()):
            try:
                current = await api.get("pods", ns, n)
            except errors.NotFound:
                del left[(ns, n)]
                continue
            if current.metadata.uid != uid:
                del left[(ns, n)]
        if left:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
    return set(left)


def _parse_taint(spec: str) -> tuple[str, str, str, bool]:
    """`k=v:Effect` (add), `k:Effect-` or `k-` (remove): key, value, effect, removing."""
    removing = spec.endswith("-")
    body = spec[:-1] if removing else spec
    key_value, sep, effect = body.partition(":")
    key, _, value = key_value.partition("=")
    if not key or not _LABEL_KEY.match(key):
        raise CliError(f'invalid taint spec "{spec}": bad key "{key}"')
    if not removing and not sep:
        raise CliError(f'invalid taint spec "{spec}": expected KEY[=VALUE]:EFFECT')
    if effect and effect not in EFFECTS:
        raise CliError(
            f'invalid taint spec "{spec}": unsupported effect "{effect}" '
            f"(one of {', '.join(EFFECTS)})"
        )
    if removing and value:
        raise CliError(f'invalid taint spec "{spec}": a removal names no value')
    return key, value, effect, removing


async def taint(inv: Invocation) -> int:
    """Add `k=v:Effect` taints, remove `k:Effect-` (or every effect of `k-`)."""
    args = inv.args
    if not _known(args.kind) or kinds.resolve(args.kind).resource != "nodes":
        raise CliError(f'taint applies to nodes only, not "{args.kind}"')
    parsed = [_parse_taint(s) for s in args.taints]
    result = {"added": False, "removed": False}

    def change(node: core_pb2.Node) -> bool:
        changed = False
        for key, value, effect, removing in parsed:
            taints = node.spec.taints
            if removing:
                keep = [
                    core_pb2.Taint(
                        key=t.key, value=t.value, effect=t.effect, time_added=t.time_added
                    )
                    for t in taints
                    if not (t.key == key and effect in ("", t.effect))
                ]
                if len(keep) == len(taints):
                    shown = f"{key}:{effect}" if effect else key
                    raise CliError(f'taint "{shown}" not found')
                del taints[:]
                taints.extend(keep)
                changed = result["removed"] = True
                continue
            existing = [t for t in taints if t.key == key and t.effect == effect]
            if existing:
                if existing[0].value == value:
                    continue
                if not args.overwrite:
                    raise CliError(
                        f"node {node.metadata.name} already has {key} taint(s) with same "
                        "effect(s) and --overwrite is false"
                    )
                existing[0].value = value
            else:
                taints.add(key=key, value=value, effect=effect)
            changed = result["added"] = True
        return changed

    async with inv.client() as api:
        changed = await _modify(api, "nodes", "", args.node, change)
    if not changed:
        inv.out(f"node/{args.node} not tainted (no change)")
    elif result["added"]:
        inv.out(f"node/{args.node} tainted")
    else:
        inv.out(f"node/{args.node} untainted")
    return 0


def _known(name: str) -> bool:
    try:
        kinds.resolve(name)
    except kinds.UnknownKindError:
        return False
    return True


def _parse_label(spec: str) -> tuple[str, str | None]:
    if spec.endswith("-") and "=" not in spec:
        key, value = spec[:-1], None
    else:
        key, sep, value = spec.partition("=")
        if not sep:
            raise CliError(f'invalid label spec "{spec}": expected KEY=VALUE or KEY-')
    if not _LABEL_KEY.match(key) or len(key.rpartition("/")[2]) > 63:
        raise CliError(f'invalid label spec "{spec}": bad key "{key}"')
    if value and not _LABEL_VALUE.match(value):
        raise CliError(f'invalid label spec "{spec}": bad value "{value}"')
    return key, value


async def label(inv: Invocation) -> int:
    """Set `k=v` labels (changing one needs --overwrite) and remove `k-` ones."""
    args = inv.args
    words = list(args.words)
    kind_name, slash, name = words.pop(0).partition("/")
    if not slash:
        if not words:
            raise CliError("label needs KIND NAME (or KIND/NAME) and KEY=VALUE or KEY-")
        name = words.pop(0)
    specs = words
    if not specs:
        raise CliError("at least one label update is required: KEY=VALUE or KEY-")
    try:
        kind = kinds.resolve(kind_name)
    except kinds.UnknownKindError as e:
        raise CliError(str(e)) from None
    parsed = [_parse_label(s) for s in specs]
    ns = inv.namespace() if kind.namespaced else ""

    def change(obj: Any) -> bool:
        labels = obj.metadata.labels
        changed = False
        for key, value in parsed:
            if value is None:
                if key in labels:
                    del labels[key]
                    changed = True
                continue
            if key in labels and labels[key] != value and not args.overwrite:
                raise CliError(
                    f"'{key}' already has a value ({labels[key]}), and --overwrite is false"
                )
            if labels.get(key) != value:
                labels[key] = value
                changed = True
        return changed

    async with inv.client() as api:
        try:
            changed = await _modify(api, kind.resource, ns, name, change)
        except errors.NotFound:
            raise CliError(f'{kind.resource} "{name}" not found') from None
    removing = all(v is None for _, v in parsed)
    verb = "unlabeled" if removing else "labeled"
    inv.out(f"{kind.singular}/{name} {verb}" if changed else f"{kind.singular}/{name} not labeled")
    return 0

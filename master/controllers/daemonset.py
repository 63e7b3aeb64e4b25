"""The DaemonSet controller: one pod on every node the template fits.

A node is eligible when the template's nodeSelector and required node affinity match it
and every NoSchedule/NoExecute taint is tolerated; a pod already there may stay as long
as every NoExecute taint is tolerated. Daemon pods get Kubernetes' extra tolerations
(not-ready, unreachable, pressure, unschedulable), so they stay on sick nodes. Pods are
created bound to their node (`spec.nodeName`), as DaemonSets did before scheduling moved
to the scheduler; surplus pods, pods on ineligible nodes and failed pods are deleted.

RollingUpdate: pods whose `controller-revision-hash` label differs from the template's
hash are deleted, unavailable ones first, while at most maxUnavailable (a number, or a
percentage of the eligible nodes rounded up) nodes lack an available daemon pod; the
next sync creates the new pod. OnDelete leaves old pods until someone deletes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from client.errors import NotFound
from client.informer import copy_object
from master.controllers import controller_utils as cu
from master.controllers import deployment_util as du
from master.controllers import taints as tt
from master.controllers.base import Context
from master.controllers.owned_pods import OwnedPodsController
from master.controllers.podcontrol import pod_from_template
from proto import core_pb2, workloads_pb2

log = structlog.get_logger("controllers.daemonset")

DaemonSet = workloads_pb2.DaemonSet
REVISION_HASH = "controller-revision-hash"
DAEMON_TOLERATIONS = (
    core_pb2.Toleration(key=tt.NOT_READY, operator="Exists", effect=tt.NO_EXECUTE),
    core_pb2.Toleration(key=tt.UNREACHABLE, operator="Exists", effect=tt.NO_EXECUTE),
    core_pb2.Toleration(
        key="node.kubernetes.io/disk-pressure", operator="Exists", effect=tt.NO_SCHEDULE
    ),
    core_pb2.Toleration(
        key="node.kubernetes.io/memory-pressure", operator="Exists", effect=tt.NO_SCHEDULE
    ),
    core_pb2.Toleration(
        key="node.kubernetes.io/pid-pressure", operator="Exists", effect=tt.NO_SCHEDULE
    ),
    core_pb2.Toleration(key=tt.UNSCHEDULABLE, operator="Exists", effect=tt.NO_SCHEDULE),
)


def daemon_tolerations(spec: core_pb2.PodSpec) -> list[core_pb2.Toleration]:
    """The template's tolerations plus the daemon ones it lacks."""
    found = list(spec.tolerations)
    for extra in DAEMON_TOLERATIONS:
        if not any(t.key == extra.key and t.effect == extra.effect for t in found):
            found.append(extra)
    return found


def _requirement_matches(req: core_pb2.NodeSelectorRequirement, value: str | None) -> bool:
    op = req.operator
    if op == "In":
        return value is not None and value in req.values
    if op == "NotIn":
        return value is None or value not in req.values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and len(req.values) == 1:
        try:
            have, limit = int(value), int(req.values[0])
        except ValueError:
            return False
        return have > limit if op == "Gt" else have < limit
    return False


def node_affinity_matches(spec: core_pb2.PodSpec, node: core_pb2.Node) -> bool:
    """nodeSelector and required node affinity (terms ORed, expressions ANDed)."""
    labels = node.metadata.labels
    if any(labels.get(k) != v for k, v in spec.node_selector.items()):
        return False
    required = spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
    terms = list(required.node_selector_terms)
    if not terms:
        return True
    for term in terms:
        if not term.match_expressions and not term.match_fields:
            continue
        label_ok = all(
            _requirement_matches(r, labels.get(r.key) if r.key in labels else None)
            for r in term.match_expressions
        )
        field_ok = all(
            _requirement_matches(r, node.metadata.name if r.key == "metadata.name" else None)
            for r in term.match_fields
        )
        if label_ok and field_ok:
            return True
    return False


def should_run(spec: core_pb2.PodSpec, node: core_pb2.Node) -> tuple[bool, bool]:
    """(a new daemon pod belongs here, an existing one may stay)."""
    if not node_affinity_matches(spec, node):
        return False, False
    tolerations = daemon_tolerations(spec)
    stay = not tt.untolerated(node.spec.taints, tolerations, (tt.NO_EXECUTE,))
    run = stay and not tt.untolerated(node.spec.taints, tolerations, (tt.NO_SCHEDULE,))
    return run, stay


def max_unavailable(ds: DaemonSet, desired: int) -> int:
    """maxUnavailable against the eligible nodes (percentages round up); at least 1."""
    ru = ds.spec.update_strategy.rolling_update
    if not ru.HasField("max_unavailable"):
        return 1
    try:
        value = du.scaled_value(ru.max_unavailable, desired, True)
    except ValueError:
        return 1
    return max(1, value)


@dataclass(frozen=True)
class _DaemonView:
    """What one sync sees of a DaemonSet: the nodes, its pods on each, its template's hash."""

    ds: DaemonSet
    key: str
    nodes: Sequence[core_pb2.Node]
    by_node: dict[str, list[core_pb2.Pod]]
    digest: str


class DaemonSetController(OwnedPodsController):
    """apps/v1 DaemonSet."""

    name = "daemonset"
    owner_kind = "DaemonSet"
    owner_resource = "daemonsets"
    component = "daemonset-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.daemonsets = self.owners
        self.nodes = ctx.informers.get("nodes")
        self.nodes.add_handler(
            on_add=lambda n: self._all(),
            on_update=self._node_updated,
            on_delete=lambda n: self._all(),
        )

    def _all(self) -> None:
        for key in self.daemonsets.keys():
            self.queue.add(key)

    def _node_updated(self, old: core_pb2.Node, new: core_pb2.Node) -> None:
        if old.metadata.labels != new.metadata.labels or list(old.spec.taints) != list(
            new.spec.taints
        ):
            self._all()

    def _pod_updated(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        key = self._observe_update(old, new)
        if key is None or not cu.is_pod_ready(new):
            return
        ds = self.daemonsets.get(key, copy=False)
        if ds is not None and ds.spec.min_ready_seconds > 0:
            # Becoming available happens with no event of its own: look again then.
            self.queue.add_after(key, ds.spec.min_ready_seconds + 0.5)

    # -- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Place, remove and update daemon pods; then write status."""
        ds = self._owner(key)
        if ds is None:
            return
        selector = self._selector(ds, key)
        if selector is None:
            return
        pods = await self._claim(ds, selector, lambda facts: not facts.terminating)
        by_node: dict[str, list[core_pb2.Pod]] = {}
        for pod in pods:
            by_node.setdefault(pod.spec.node_name, []).append(pod)
        view = _DaemonView(
            ds, key, self.nodes.list(copy=False), by_node, du.pod_template_hash(ds.spec.template)
        )
        if self.expectations.satisfied(key) and not ds.metadata.deletion_timestamp:
            changed = await self._manage(view)
            if not changed and ds.spec.update_strategy.type == "RollingUpdate":
                await self._rolling_update(view)
        await self._write_status(view)

    async def _manage(self, view: _DaemonView) -> bool:
        create_on: list[str] = []
        doomed: list[core_pb2.Pod] = []
        names = {n.metadata.name for n in view.nodes}
        for node in view.nodes:
            run, stay = should_run(view.ds.spec.template.spec, node)
            here = view.by_node.get(node.metadata.name, [])
            failed = [p for p in here if p.status.phase == "Failed"]
            alive = [p for p in here if p.status.phase != "Failed"]
            doomed.extend(failed)
            if run and not alive:
                create_on.append(node.metadata.name)
            elif not stay:
                doomed.extend(alive)
            elif len(alive) > 1:
                oldest = min(alive, key=lambda p: (p.metadata.creation_timestamp, p.metadata.name))
                doomed.extend(p for p in alive if p is not oldest)
        for node_name, here in view.by_node.items():
            if node_name not in names:
                doomed.extend(here)
        create_on = create_on[: self.settings.burst_replicas]
        if doomed:
            await self._delete(view, doomed)
        if create_on:
            await self._create(view, create_on)
        return bool(doomed or create_on)

    async def _create(self, view: _DaemonView, node_names: list[str]) -> None:
        ds = view.ds
        queue = list(node_names)

        def make() -> core_pb2.Pod:
            pod = pod_from_template(ds.spec.template, ds, node_name=queue.pop(0))
            pod.metadata.labels[REVISION_HASH] = view.digest
            del pod.spec.tolerations[:]
            pod.spec.tolerations.extend(daemon_tolerations(ds.spec.template.spec))
            return pod

        await self.pod_control.create_pods(view.key, ds, len(node_names), make)

    async def _delete(self, view: _DaemonView, pods: list[core_pb2.Pod]) -> None:
        await self.pod_control.delete_pods(view.key, view.ds, pods)

    async def _rolling_update(self, view: _DaemonView) -> None:
        now = cu.now()
        ds = view.ds
        eligible = [n for n in view.nodes if should_run(ds.spec.template.spec, n)[0]]
        budget = max_unavailable(ds, len(eligible))
        unavailable = 0
        old_available: list[core_pb2.Pod] = []
        old_unavailable: list[core_pb2.Pod] = []
        for node in eligible:
            here = [p for p in view.by_node.get(node.metadata.name, []) if cu.is_pod_active(p)]
            if not any(cu.is_pod_available(p, ds.spec.min_ready_seconds, now) for p in here):
                unavailable += 1
            for p in here:
                if p.metadata.labels.get(REVISION_HASH) != view.digest:
                    if cu.is_pod_available(p, ds.spec.min_ready_seconds, now):
                        old_available.append(p)
                    else:
                        old_unavailable.append(p)
        doomed = list(old_unavailable)
        room = budget - unavailable
        doomed.extend(old_available[: max(0, room)])
        if doomed:
            log.info(
                "rolling update", daemonset=view.key, deleting=len(doomed), unavailable=unavailable
            )
            await self._delete(view, doomed)

    async def _write_status(self, view: _DaemonView) -> None:
        now = cu.now()
        ds = view.ds
        status = workloads_pb2.DaemonSetStatus()
        status.CopyFrom(ds.status)
        desired = current = misscheduled = ready = available = updated = 0
        for node in view.nodes:
            run, _ = should_run(ds.spec.template.spec, node)
            here = [p for p in view.by_node.get(node.metadata.name, []) if cu.is_pod_active(p)]
            if run:
                desired += 1
                if here:
                    current += 1
                    pod = min(here, key=lambda p: (p.metadata.creation_timestamp, p.metadata.name))
                    ready += cu.is_pod_ready(pod)
                    available += cu.is_pod_available(pod, ds.spec.min_ready_seconds, now)
                if any(p.metadata.labels.get(REVISION_HASH) == view.digest for p in here):
                    updated += 1
            elif here:
                misscheduled += 1
        status.desired_number_scheduled = desired
        status.current_number_scheduled = current
        status.number_misscheduled = misscheduled
        status.number_ready = ready
        status.number_available = available
        status.number_unavailable = desired - available
        status.updated_number_scheduled = updated
        status.observed_generation = ds.metadata.generation
        if status == ds.status:
            return
        fresh = copy_object(ds)
        fresh.status.CopyFrom(status)
        try:
            await self.client.update_status(fresh)
        except NotFound:
            return

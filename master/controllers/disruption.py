"""The disruption controller: each PodDisruptionBudget's status, which evictions spend.

As kube-controller-manager's: the pods a budget covers, how many of them are healthy
(client/disruption.py), how many it wants healthy and so how many may be disrupted now.
`minAvailable: N` counts the pods that exist; a percentage, or `maxUnavailable`, is
taken of the pods their workloads want, read from each pod's controller (a ReplicaSet's
Deployment, a StatefulSet, a ReplicaSet alone). A covered pod without such a controller
makes the budget unusable until it goes, as Kubernetes reports it: no disruption is
allowed, and the DisruptionAllowed condition says why.

`status.disruptedPods` holds the pods the API server let be evicted but that have not
gone yet: they do not count as healthy, so two evictions in a row cannot both spend the
last disruption. An entry leaves once its pod is gone or being deleted, or after two
minutes (Kubernetes' DeletionTimeout), when the eviction evidently did not happen.
"""

from __future__ import annotations

import datetime
from typing import Any

import structlog

from client import kinds
from client.disruption import covers, desired_healthy, is_healthy
from client.informer import NAMESPACE_INDEX, copy_object
from client.timestamps import format_time, try_parse
from master.controllers.base import Context, Controller
from proto import core_pb2, meta_pb2, policy_pb2

__all__ = ["DELETION_TIMEOUT", "DisruptionController"]

log = structlog.get_logger("controllers.disruption")

DELETION_TIMEOUT = 120.0
"""Seconds a disrupted pod is waited for before its eviction is taken not to have happened."""


class NoController(Exception):
    """A covered pod has no controller whose scale says how many pods are expected."""


class DisruptionController(Controller):
    """policy/v1 PodDisruptionBudget status."""

    name = "disruption"
    component = "disruption-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.budgets = ctx.informers.get("poddisruptionbudgets")
        self.pods = ctx.informers.get("pods")
        self.owners = {
            r: ctx.informers.get(r)
            for r in ("replicasets", "deployments", "statefulsets", "replicationcontrollers")
        }
        self.budgets.add_handler(
            on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n), on_delete=self.enqueue
        )
        self.pods.add_handler(
            on_add=self._pod_changed,
            on_update=self._pod_updated,
            on_delete=self._pod_changed,
        )

    def _pod_updated(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        self._pod_changed(old)
        self._pod_changed(new)

    def _pod_changed(self, pod: core_pb2.Pod) -> None:
        for pdb in self.budgets.by_index(NAMESPACE_INDEX, pod.metadata.namespace, copy=False):
            if covers(pdb, pod):
                self.queue.add(kinds.key(pdb))

    def _expected(self, pdb: policy_pb2.PodDisruptionBudget, pods: list[core_pb2.Pod]) -> int:
        """How many pods there should be: the pods themselves for an integer
        minAvailable, else the scale of their controllers."""
        spec = pdb.spec
        if not spec.HasField("max_unavailable") and (
            spec.min_available.WhichOneof("value") != "str_val"
        ):
            return len(pods)
        scales: dict[str, int] = {}
        for pod in pods:
            uid, replicas = self._controller_scale(pod)
            scales[uid] = replicas
        return sum(scales.values())

    def _controller_scale(self, pod: core_pb2.Pod) -> tuple[str, int]:
        ref = next((r for r in pod.metadata.owner_references if r.controller), None)
        ns = pod.metadata.namespace
        if ref is not None and ref.kind == "ReplicaSet":
            rs: Any = self.owners["replicasets"].get(f"{ns}/{ref.name}", copy=False)
            if rs is not None:
                top = next((r for r in rs.metadata.owner_references if r.controller), None)
                if top is not None and top.kind == "Deployment":
                    d: Any = self.owners["deployments"].get(f"{ns}/{top.name}", copy=False)
                    if d is not None:
                        return d.metadata.uid, int(d.spec.replicas)
                return rs.metadata.uid, int(rs.spec.replicas)
        direct = {"StatefulSet": "statefulsets", "ReplicationController": "replicationcontrollers"}
        if ref is not None and ref.kind in direct:
            owner: Any = self.owners[direct[ref.kind]].get(f"{ns}/{ref.name}", copy=False)
            if owner is not None:
                return owner.metadata.uid, int(owner.spec.replicas)
        raise NoController(f"found no controllers for pod {pod.metadata.name!r}")

    async def sync(self, key: str) -> None:
        """Write budget `key`'s status from its pods."""
        pdb: Any = self.budgets.get(key, copy=False)
        if pdb is None:
            return
        pods = [
            p
            for p in self.pods.by_index(NAMESPACE_INDEX, pdb.metadata.namespace, copy=False)
            if covers(pdb, p)
        ]
        now = datetime.datetime.now(datetime.UTC)
        by_name = {p.metadata.name: p for p in pods}
        disrupted = {}
        for name, when in pdb.status.disrupted_pods.items():
            pod = by_name.get(name)
            if pod is None or pod.metadata.deletion_timestamp:
                continue
            stamp = try_parse(when)
            if stamp is not None and (now - stamp).total_seconds() < DELETION_TIMEOUT:
                disrupted[name] = when
        healthy = sum(1 for p in pods if is_healthy(p) and p.metadata.name not in disrupted)
        status = policy_pb2.PodDisruptionBudgetStatus(
            observed_generation=pdb.metadata.generation, current_healthy=healthy
        )
        status.disrupted_pods.update(disrupted)
        try:
            expected = self._expected(pdb, pods)
        except NoController as e:
            condition = ("False", "SyncFailed", str(e))
        else:
            status.expected_pods = expected
            status.desired_healthy = desired_healthy(pdb.spec, expected)
            status.disruptions_allowed = max(0, healthy - status.desired_healthy)
            condition = (
                ("True", "SufficientPods", "")
                if status.disruptions_allowed > 0
                else ("False", "InsufficientPods", "")
            )
        status.conditions.append(self._condition(pdb, condition, now))
        if status == pdb.status:
            return
        fresh = copy_object(pdb)
        fresh.status.CopyFrom(status)
        await self.client.update_status(fresh)
        log.info(
            "disruption budget",
            budget=key,
            healthy=healthy,
            desired=status.desired_healthy,
            allowed=status.disruptions_allowed,
        )

    @staticmethod
    def _condition(
        pdb: policy_pb2.PodDisruptionBudget, state: tuple[str, str, str], now: datetime.datetime
    ) -> meta_pb2.Condition:
        status, reason, message = state
        old = next((c for c in pdb.status.conditions if c.type == "DisruptionAllowed"), None)
        since = (
            old.last_transition_time
            if old is not None and old.status == status
            else format_time(now)
        )
        return meta_pb2.Condition(
            type="DisruptionAllowed",
            status=status,
            reason=reason,
            message=message,
            last_transition_time=since,
            observed_generation=pdb.metadata.generation,
        )

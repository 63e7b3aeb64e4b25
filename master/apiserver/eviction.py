"""The eviction subresource's budget check: may this pod go now, and spend the budget.

As kube-apiserver's eviction REST does, before the pod's graceful delete:

- a pod that is finished, still Pending, or already being deleted goes without a budget;
- a pod covered by no PodDisruptionBudget goes; by more than one, the eviction is refused
  (Kubernetes does not choose between them either);
- a budget whose status has not caught up with its spec refuses (429), as does one with
  no disruption left: "Cannot evict pod as it would violate the pod's disruption budget.",
  which `kubectl drain` prints and retries every five seconds;
- an unready pod goes without spending the budget when the budget is met anyway
  (`IfHealthyBudget`, the default) or always (`AlwaysAllow`);
- otherwise one disruption is spent and the pod is written into `status.disruptedPods`,
  in a status update guarded by the budget's resourceVersion, so two evictions racing
  for the last disruption cannot both have it: the loser reads again and is refused. The
  disruption controller keeps the entry until the pod is gone.

Then, before the delete, a running pod is marked with the DisruptionTarget condition
(reason EvictionByEvictionAPI), so that whoever reads its final status (a Job's
podFailurePolicy, a user) can tell an eviction from a failure of its own.
"""

from __future__ import annotations

from typing import Any

import structlog

from client import errors
from client.disruption import covers, is_healthy
from client.kinds import by_resource
from client.timestamps import now
from master.apiserver.listing import list_objects
from master.apiserver.registry import Registry
from master.apiserver.selection import Selection
from proto import meta_pb2, policy_pb2

__all__ = ["VIOLATION", "admit"]

log = structlog.get_logger("apiserver.eviction")

PODS = by_resource("pods")
BUDGETS = by_resource("poddisruptionbudgets")
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
MAX_DISRUPTED = 2000
"""Kubernetes' MaxDisruptedPodSize: more pods waiting to go than this refuses."""
ATTEMPTS = 5


async def admit(registry: Registry, namespace: str, name: str) -> None:
    """Everything an eviction does before its delete: spend the budget (or refuse), then
    mark the pod."""
    await spend_budget(registry, namespace, name)
    await mark_disrupted(registry, namespace, name)


async def spend_budget(registry: Registry, namespace: str, name: str) -> None:
    """Return when pod namespace/name may be evicted (its budget spent); TooManyRequests
    or Forbidden when not; NotFound when there is no such pod."""
    for _ in range(ATTEMPTS):
        pod: Any = await registry.get(PODS, namespace, name)
        if (
            pod.status.phase in ("Succeeded", "Failed", "Pending")
            or pod.metadata.deletion_timestamp
        ):
            return
        page = await list_objects(registry.etcd, BUDGETS, namespace, Selection())
        budgets: list[Any] = [
            b
            for b in page.items
            if isinstance(b, policy_pb2.PodDisruptionBudget) and covers(b, pod)
        ]
        if not budgets:
            return
        if len(budgets) > 1:
            raise errors.Forbidden(
                "This pod has more than one PodDisruptionBudget, which the eviction "
                "subresource does not support."
            )
        pdb: policy_pb2.PodDisruptionBudget = budgets[0]
        key = f"{namespace}/{pdb.metadata.name}"
        if pdb.status.observed_generation < pdb.metadata.generation:
            log.info(
                "eviction refused: budget not processed yet", key=f"{namespace}/{name}", budget=key
            )
            raise errors.TooManyRequests(VIOLATION, retry_after=0)
        if not is_healthy(pod):
            always = pdb.spec.unhealthy_pod_eviction_policy == "AlwaysAllow"
            met = pdb.status.current_healthy >= pdb.status.desired_healthy > 0
            if always or met:
                return
        if pdb.status.disruptions_allowed < 0:
            raise errors.Forbidden("pdb disruptions allowed is negative")
        if len(pdb.status.disrupted_pods) > MAX_DISRUPTED:
            raise errors.Forbidden(
                "DisruptedPods map too big - too many evictions not confirmed by PDB controller"
            )
        if pdb.status.disruptions_allowed == 0:
            log.info(
                "eviction refused by budget",
                key=f"{namespace}/{name}",
                budget=key,
                healthy=pdb.status.current_healthy,
                desired=pdb.status.desired_healthy,
            )
            raise errors.TooManyRequests(VIOLATION, retry_after=0)
        pdb.status.disruptions_allowed -= 1
        pdb.status.disrupted_pods[name] = now()
        try:
            await registry.update(BUDGETS, namespace, pdb.SerializeToString(), subresource="status")
        except errors.Conflict:
            continue  # another eviction spent it first: look again
        return
    raise errors.TooManyRequests(VIOLATION, retry_after=0)


async def mark_disrupted(registry: Registry, namespace: str, name: str) -> None:
    """Set DisruptionTarget=True on a pod about to be evicted, as kube-apiserver does; a
    finished pod or one already going is left alone."""
    for _ in range(ATTEMPTS):
        pod: Any = await registry.get(PODS, namespace, name)
        if pod.status.phase in ("Succeeded", "Failed") or pod.metadata.deletion_timestamp:
            return
        conditions = pod.status.conditions
        if any(c.type == "DisruptionTarget" and c.status == "True" for c in conditions):
            return
        kept = [c for c in conditions if c.type != "DisruptionTarget"]
        del conditions[:]
        conditions.extend(kept)
        conditions.append(
            meta_pb2.Condition(
                type="DisruptionTarget",
                status="True",
                reason="EvictionByEvictionAPI",
                message="Eviction API: evicting",
                last_transition_time=now(),
            )
        )
        try:
            await registry.update(PODS, namespace, pod.SerializeToString(), subresource="status")
        except errors.Conflict:
            continue  # the kubelet wrote its status first: mark the newer one
        return

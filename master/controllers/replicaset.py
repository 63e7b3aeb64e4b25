"""The ReplicaSet controller: keeps `replicas` pods matching the selector.

Each sync claims the pods (adopting matching orphans, releasing owned pods that no
longer match), then creates or deletes the difference, but only once the cache has
caught up with its previous writes (expectations). Creation goes in slow-start
batches of 1, 2, 4, ... capped at `burst_replicas`; deletion picks the least advanced
pods first, then the cheapest by pod-deletion-cost, then those on the nodes most
crowded with pods of the same controller's ReplicaSets (see
`controller_utils.scale_down_order`). Status counts replicas, ready, available (ready
for minReadySeconds) and fully labeled pods; a create or delete the API refused
becomes the ReplicaFailure condition (FailedCreate / FailedDelete) until a sync's
writes go through, and the status is written before the error is retried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from client import kinds
from client.errors import ApiError, Conflict, NotFound
from client.informer import NAMESPACE_INDEX
from client.verbs import StatusWriter
from master.controllers import controller_utils as cu
from master.controllers.owned_pods import OwnedPodsController
from master.controllers.pod_facts import PodFacts, facts_of
from master.controllers.podcontrol import pod_from_template
from proto import core_pb2, meta_pb2, workloads_pb2

log = structlog.get_logger("controllers.replicaset")

KIND = "ReplicaSet"

ReplicaOwner = workloads_pb2.ReplicaSet | workloads_pb2.ReplicationController
"""What this controller keeps: a ReplicaSet, or the ReplicationController it grew from."""


class ReplicaSetController(OwnedPodsController):
    """apps/v1 ReplicaSet."""

    name = "replicaset"
    component = "replicaset-controller"
    owner_kind = KIND
    owner_resource = "replicasets"

    # -- handlers: only keys and expectations ------------------------------------------

    def _matching(self, pod: core_pb2.Pod) -> list[str]:
        found = []
        for rs in self.owners.by_index(NAMESPACE_INDEX, pod.metadata.namespace, copy=False):
            if cu.selects(rs.spec.selector, pod.metadata.labels):
                found.append(kinds.key(rs))
        return found

    def _pod_added(self, pod: core_pb2.Pod) -> None:
        super()._pod_added(pod)
        if cu.controller_ref(pod) is None and not pod.metadata.deletion_timestamp:
            # An orphan: every ReplicaSet that selects it may adopt it.
            for k in self._matching(pod):
                self.queue.add(k)

    def _pod_updated(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        old_key = self._owner_key(old)
        new_key = self._observe_update(old, new)
        if new.metadata.deletion_timestamp and not old.metadata.deletion_timestamp:
            return
        if old_key is not None and old_key != new_key:
            self.queue.add(old_key)
        if new_key is not None:
            rs = self.owners.get(new_key, copy=False)
            if rs is not None and rs.spec.min_ready_seconds > 0:
                if not cu.is_pod_ready(old) and cu.is_pod_ready(new):
                    # Available only after minReadySeconds: look again then.
                    self.queue.add_after(new_key, rs.spec.min_ready_seconds + 0.5)
            return
        if cu.controller_ref(new) is None and (
            old.metadata.labels != new.metadata.labels or cu.controller_ref(old) is not None
        ):
            for k in self._matching(new):
                self.queue.add(k)

    # -- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Claim, then create or delete toward spec.replicas, then write status."""
        rs = self._owner(key)
        if rs is None:
            return
        selector = self._selector(rs, key)
        if selector is None:
            return
        satisfied = self.expectations.satisfied(key)
        pods = await self._claim(rs, selector, lambda facts: facts.active)
        refused: ApiError | None = None
        if satisfied and not rs.metadata.deletion_timestamp:
            try:
                await self._manage(rs, key, pods)
            except ApiError as e:
                refused = e
        elif not satisfied:
            # Lost events are covered by the expectations' TTL; look again after it.
            self.queue.add_after(key, self.expectations.ttl + 1)
        at = cu.now()
        status = replica_set_status(rs, pods, at, self.pod_facts.get)
        set_replica_failure(status, rs, len(pods), refused)
        await update_rs_status(self.client, rs, status)
        if refused is not None:
            raise refused
        if rs.spec.min_ready_seconds > 0:
            later = (cu.available_in(p, rs.spec.min_ready_seconds, at) for p in pods)
            waits = [w for w in later if w is not None]
            if waits:
                self.queue.add_after(key, min(waits) + 0.1)

    async def _manage(self, rs: ReplicaOwner, key: str, pods: list[core_pb2.Pod]) -> None:
        want = rs.spec.replicas
        diff = len(pods) - want
        burst = self.settings.burst_replicas
        if diff < 0:
            count = min(-diff, burst)
            log.info("creating pods", replicaset=key, count=count, have=len(pods), want=want)
            await self.pod_control.create_pods(
                key, rs, count, lambda: pod_from_template(rs.spec.template, rs)
            )
        elif diff > 0:
            count = min(diff, burst)
            victims = pods
            if count < len(pods):
                ranked = cu.scale_down_order(pods, self._related_pods(rs), cu.now())
                victims = ranked[:count]
            log.info("deleting pods", replicaset=key, count=count, have=len(pods), want=want)
            await self.pod_control.delete_pods(key, rs, victims)

    def _related_pods(self, rs: ReplicaOwner) -> list[core_pb2.Pod]:
        """The pods of every ReplicaSet with the same controller as `rs` (a Deployment's
        old and new sets); none when `rs` has no controller.

        Kubernetes takes the pods each such set's selector matches; a Deployment's sets
        each select their own pod-template-hash, so that is the pods each set controls,
        found here through the index instead of matching every pod of the namespace
        against every old revision's selector at each scale-down.
        """
        ref = cu.controller_ref(rs)
        if ref is None:
            return []
        related: list[core_pb2.Pod] = []
        for sibling in self.owners.by_index(cu.CONTROLLER_UID_INDEX, ref.uid, copy=False):
            uid = sibling.metadata.uid
            related.extend(self.pods.by_index(cu.CONTROLLER_UID_INDEX, uid, copy=False))
        return related


def set_replica_failure(
    status: workloads_pb2.ReplicaSetStatus,
    rs: ReplicaOwner,
    active: int,
    refused: ApiError | None,
) -> None:
    """Record in `status` why the sync's pod writes were refused, or clear the record once
    a sync had nothing refused; a standing record keeps its first reason and time."""
    current = cu.get_condition(status.conditions, cu.REPLICA_FAILURE)
    if refused is None:
        if current is not None:
            cu.remove_condition(status, cu.REPLICA_FAILURE)
        return
    if current is not None:
        return
    diff = active - rs.spec.replicas
    reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
    # A ReplicaSet's conditions have no lastUpdateTime in Kubernetes' schema.
    status.conditions.append(
        meta_pb2.Condition(
            type=cu.REPLICA_FAILURE,
            status="True",
            reason=reason,
            message=refused.message,
            last_transition_time=cu.rfc3339(),
        )
    )


def replica_set_status(
    rs: ReplicaOwner,
    pods: list[core_pb2.Pod],
    at: float,
    facts: Callable[[core_pb2.Pod], PodFacts] = facts_of,
) -> workloads_pb2.ReplicaSetStatus:
    """The status the pods add up to (`facts`: how a pod's labels and readiness are read)."""
    # Every pod of the set, at every sync: one pass, and no timestamp parsed where
    # minReadySeconds is 0 (available is then ready), or a big set's syncs, which run back
    # to back while its pods start, keep a core busy (issue #14).
    template = list(rs.spec.template.metadata.labels.items())
    min_ready = rs.spec.min_ready_seconds
    status = workloads_pb2.ReplicaSetStatus()
    status.CopyFrom(rs.status)
    status.replicas = len(pods)
    labeled = ready = available = 0
    for p in pods:
        known = facts(p)
        labels = known.labels
        if all(labels.get(k) == v for k, v in template):
            labeled += 1
        if known.ready:
            ready += 1
            if min_ready <= 0 or cu.is_pod_available(p, min_ready, at):
                available += 1
    status.fully_labeled_replicas = labeled
    status.ready_replicas = ready
    status.available_replicas = available
    status.observed_generation = rs.metadata.generation
    return status


async def update_rs_status(
    client: StatusWriter, rs: ReplicaOwner, status: workloads_pb2.ReplicaSetStatus
) -> None:
    """Write `status` if it changed; on a Conflict, once more onto a fresh read."""
    if rs.status == status:
        return
    fresh: Any = type(rs)()
    fresh.CopyFrom(rs)
    fresh.status.CopyFrom(status)
    try:
        await client.update_status(fresh)
    except NotFound:
        return
    except Conflict:
        resource = kinds.of(rs).resource
        current = await client.get(resource, rs.metadata.namespace, rs.metadata.name)
        if not isinstance(current, type(rs)) or (current.metadata.uid != rs.metadata.uid):
            return
        status.observed_generation = min(status.observed_generation, current.metadata.generation)
        current.status.CopyFrom(status)
        await client.update_status(current)


class ReplicationManager(ReplicaSetController):
    """core/v1 ReplicationController: the ReplicaSet controller over an equality-only
    selector, as kube-controller-manager's replication manager wraps its ReplicaSet one."""

    name = "replicationcontroller"
    component = "replication-controller"
    owner_kind = "ReplicationController"
    owner_resource = "replicationcontrollers"

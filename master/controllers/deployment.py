"""The Deployment controller: ReplicaSets per pod template, rolled by the chosen strategy.

Each sync claims the Deployment's ReplicaSets, finds the one whose template equals the
Deployment's (ignoring the pod-template-hash label) or creates it, named
`<deployment>-<hash>`, and takes one step:

- RollingUpdate: grow the new ReplicaSet up to replicas + maxSurge in total, then shrink
  old ones (their unavailable replicas first) while at least replicas - maxUnavailable
  stay available; availability is the ReplicaSets' status, which the ReplicaSet
  controller computes with minReadySeconds;
- Recreate: shrink every old ReplicaSet to 0, wait until their pods are gone, then
  scale the new one up;
- paused, or spec.replicas changed: only resize. With one active ReplicaSet it gets
  every replica; mid-rollout every active ReplicaSet grows or shrinks in proportion
  to its size (Kubernetes' proportional scaling), so a scale-up during a rollout does
  not wait for it. No rollout step and no deadline while paused.

Revisions live in the `deployment.kubernetes.io/revision` annotation; a ReplicaSet that
becomes new again (an undo) gets the next revision. A rollout that makes no progress for
progressDeadlineSeconds gets Progressing=False, reason ProgressDeadlineExceeded; one whose
new ReplicaSet the API refuses gets Progressing=False, reason ReplicaSetCreateError, and a
ReplicaSet's ReplicaFailure (pods the API refused) shows on the Deployment. Of the old
ReplicaSets beyond revisionHistoryLimit, the oldest are deleted once empty; a newer one
never goes in place of an older one still busy, so the newest revisions stay.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from client import kinds
from client.errors import AlreadyExists, ApiError, Conflict, NotFound
from client.events import NORMAL, WARNING
from client.informer import NAMESPACE_INDEX, copy_object
from master.controllers import controller_utils as cu
from master.controllers import deployment_util as du
from master.controllers.base import Context, Controller
from master.controllers.claiming import claim
from master.controllers.deleting import delete_exact
from proto import core_pb2, meta_pb2, workloads_pb2

log = structlog.get_logger("controllers.deployment")

RS = workloads_pb2.ReplicaSet
Deployment = workloads_pb2.Deployment
_SKIPPED_ANNOTATIONS = frozenset(
    {
        du.REVISION,
        du.REVISION_HISTORY,
        du.DESIRED_REPLICAS,
        du.MAX_REPLICAS,
        "kubectl.kubernetes.io/last-applied-configuration",
    }
)


class DeploymentController(Controller):
    """apps/v1 Deployment."""

    name = "deployment"
    component = "deployment-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.deployments = ctx.informers.get("deployments")
        self.replicasets = ctx.informers.get("replicasets")
        self.pods = ctx.informers.get("pods")
        self.deployments.add_handler(
            on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n), on_delete=self.enqueue
        )
        self.replicasets.add_handler(
            on_add=self._rs_changed,
            on_update=self._rs_updated,
            on_delete=self._rs_changed,
        )
        self.pods.add_handler(on_delete=self._pod_deleted)

    # -- handlers ----------------------------------------------------------------------

    def _owner_key(self, obj: RS) -> str | None:
        ref = cu.controller_ref(obj)
        if ref is None or ref.kind != "Deployment":
            return None
        key = f"{obj.metadata.namespace}/{ref.name}"
        d = self.deployments.get(key, copy=False)
        return key if d is not None and d.metadata.uid == ref.uid else None

    def _rs_changed(self, rs: RS) -> None:
        key = self._owner_key(rs)
        if key is not None:
            self.queue.add(key)
            return
        if cu.controller_ref(rs) is None:
            for d in self.deployments.by_index(NAMESPACE_INDEX, rs.metadata.namespace, copy=False):
                if cu.selects(d.spec.selector, rs.metadata.labels):
                    self.queue.add(kinds.key(d))

    def _rs_updated(self, old: RS, new: RS) -> None:
        self._rs_changed(old)
        self._rs_changed(new)

    def _pod_deleted(self, pod: core_pb2.Pod) -> None:
        # Recreate waits for the old pods to be gone.
        ref = cu.controller_ref(pod)
        if ref is None or ref.kind != "ReplicaSet":
            return
        rs = self.replicasets.get(f"{pod.metadata.namespace}/{ref.name}", copy=False)
        if rs is not None:
            key = self._owner_key(rs)
            if key is not None:
                d = self.deployments.get(key, copy=False)
                if d is not None and d.spec.strategy.type == "Recreate":
                    self.queue.add(key)

    # -- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """One step of the Deployment's rollout, then its status."""
        d = self.deployments.get(key)
        if d is None:
            return
        selector = cu.selector_of(d.spec.selector)
        if selector is None or selector.empty():
            await self.events.record(
                d,
                WARNING,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            )
            return
        candidates = self.replicasets.by_index(NAMESPACE_INDEX, d.metadata.namespace)
        rss = await claim(self.client, d, selector, candidates, self.deployments.get)
        if d.metadata.deletion_timestamp:
            await self._sync_status(d, rss, self._find_new(d, rss))
            return
        d = await self._check_paused_condition(d)
        if d.spec.paused or du.is_scaling_event(d, rss):
            await self._sync_scale(d, rss)
        elif d.spec.strategy.type == "Recreate":
            await self._rollout_recreate(d, rss)
        else:
            await self._rollout_rolling(d, rss)

    # -- strategies --------------------------------------------------------------------

    async def _rollout_rolling(self, d: Deployment, rss: list[RS]) -> None:
        new_rs, d = await self._new_rs(d, rss, create=True)
        assert new_rs is not None
        old = [rs for rs in rss if rs.metadata.uid != new_rs.metadata.uid]
        everything = [*old, new_rs]
        target = (
            du.new_rs_replicas(d, everything, new_rs)
            if new_rs.spec.replicas < d.spec.replicas
            else d.spec.replicas
        )
        if target != new_rs.spec.replicas:
            new_rs = await self._scale(d, new_rs, target)
            await self._sync_rollout_status(d, [*old, new_rs], new_rs)
            return
        if du.spec_replicas(old) > 0:
            budget = du.old_scale_down_budget(d, everything, new_rs)
            scaled = False
            if budget > 0:
                cleanup = du.cleanup_unhealthy(old, budget)
                plan = cleanup.plan
                old = [
                    await self._scale(d, rs, plan[rs.metadata.name])
                    if rs.metadata.name in plan
                    else rs
                    for rs in old
                ]
                scaled = bool(plan)
                if not cleanup.stale:
                    plan = du.scale_down_old(d, [*old, new_rs], old)
                    old = [
                        await self._scale(d, rs, plan[rs.metadata.name])
                        if rs.metadata.name in plan
                        else rs
                        for rs in old
                    ]
                    scaled = scaled or bool(plan)
            if scaled:
                await self._sync_rollout_status(d, [*old, new_rs], new_rs)
                return
        status = self._calculate_status(d, [*old, new_rs], new_rs)
        if du.is_complete(d, status):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, [*old, new_rs], new_rs)

    async def _rollout_recreate(self, d: Deployment, rss: list[RS]) -> None:
        new_rs, d = await self._new_rs(d, rss, create=False)
        old = [rs for rs in rss if new_rs is None or rs.metadata.uid != new_rs.metadata.uid]
        scaled = False
        for i, rs in enumerate(old):
            if rs.spec.replicas > 0:
                old[i] = await self._scale(d, rs, 0)
                scaled = True
        current = old + ([new_rs] if new_rs is not None else [])
        if scaled or self._old_pods_running(old):
            await self._sync_rollout_status(d, current, new_rs)
            return
        if new_rs is None:
            new_rs, d = await self._new_rs(d, rss, create=True)
            assert new_rs is not None
        if new_rs.spec.replicas != d.spec.replicas:
            new_rs = await self._scale(d, new_rs, d.spec.replicas)
        everything = [*old, new_rs]
        if du.is_complete(d, self._calculate_status(d, everything, new_rs)):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, everything, new_rs)

    async def _sync_scale(self, d: Deployment, rss: list[RS]) -> None:
        """Only resize (a scaling event, or a paused Deployment): Kubernetes' sync()."""
        new_rs, d = await self._new_rs(d, rss, create=False)
        old = [rs for rs in rss if new_rs is None or rs.metadata.uid != new_rs.metadata.uid]
        sizes: dict[str, int] = {}
        target = du.active_or_latest(new_rs, old)
        if target is not None:
            sizes[target.metadata.name] = d.spec.replicas
        elif du.is_saturated(d, new_rs):
            sizes.update({rs.metadata.name: 0 for rs in old if rs.spec.replicas > 0})
        elif d.spec.strategy.type == "RollingUpdate":
            active = [rs for rs in rss if rs.spec.replicas > 0]
            sizes = du.proportional_sizes(d, active)
        scaled = [
            await self._scale(d, rs, sizes[rs.metadata.name]) if rs.metadata.name in sizes else rs
            for rs in rss
        ]
        if new_rs is not None:
            new_rs = next(rs for rs in scaled if rs.metadata.uid == new_rs.metadata.uid)
        if d.spec.paused:
            await self._cleanup(d, [rs for rs in scaled if rs is not new_rs])
        await self._sync_status(d, scaled, new_rs)

    def _old_pods_running(self, old: Sequence[RS]) -> bool:
        if any(rs.status.replicas > 0 for rs in old):
            return True
        for rs in old:
            for pod in self.pods.by_index(cu.CONTROLLER_UID_INDEX, rs.metadata.uid, copy=False):
                if pod.status.phase not in ("Failed", "Succeeded"):
                    return True
        return False

    # -- the new ReplicaSet ------------------------------------------------------------

    def _find_new(self, d: Deployment, rss: Sequence[RS]) -> RS | None:
        matching = [rs for rs in rss if du.equal_ignore_hash(rs.spec.template, d.spec.template)]
        if not matching:
            return None
        return min(matching, key=lambda rs: (rs.metadata.creation_timestamp, rs.metadata.name))

    async def _new_rs(
        self, d: Deployment, rss: list[RS], *, create: bool
    ) -> tuple[RS | None, Deployment]:
        existing = self._find_new(d, rss)
        old = [rs for rs in rss if existing is None or rs.metadata.uid != existing.metadata.uid]
        new_revision = du.max_revision(old) + 1
        if existing is not None:
            rs = copy_object(existing)
            changed = _set_new_rs_annotations(d, rs, new_revision, exists=True)
            if rs.spec.min_ready_seconds != d.spec.min_ready_seconds:
                rs.spec.min_ready_seconds = d.spec.min_ready_seconds
                changed = True
            if changed:
                rs = await self.client.update(rs)
            d = await self._set_revision(d, rs.metadata.annotations.get(du.REVISION, ""))
            if (
                du.has_progress_deadline(d)
                and cu.get_condition(d.status.conditions, "Progressing") is None
            ):
                d = await self._set_progressing(
                    d, "True", du.FOUND_NEW_RS, f'Found new replica set "{rs.metadata.name}"'
                )
            return rs, d
        if not create:
            return None, d
        collisions = d.status.collision_count if d.status.HasField("collision_count") else None
        rs = self._build_rs(d, collisions, new_revision, old)
        try:
            created = await self.client.create(rs)
        except AlreadyExists:
            current = await self.client.get("replicasets", d.metadata.namespace, rs.metadata.name)
            assert isinstance(current, RS)
            if cu.controller_uid(current) == d.metadata.uid and du.equal_ignore_hash(
                current.spec.template, d.spec.template
            ):
                return current, d  # ours: the cache had not caught up
            fresh = copy_object(d)
            fresh.status.collision_count = (collisions or 0) + 1
            await self.client.update_status(fresh)
            raise Conflict(
                f'replicasets "{rs.metadata.name}" exists with another template: '
                "hash collision, retrying with collisionCount "
                f"{fresh.status.collision_count}"
            ) from None
        except ApiError as e:
            await self._creation_refused(d, rs, e)
            raise
        log.info("created replica set", deployment=kinds.key(d), replicaset=created.metadata.name)
        if created.spec.replicas > 0:
            await self.events.record(
                d,
                NORMAL,
                "ScalingReplicaSet",
                f"Scaled up replica set {created.metadata.name} to {created.spec.replicas}",
            )
        d = await self._set_revision(d, created.metadata.annotations[du.REVISION])
        if du.has_progress_deadline(d):
            d = await self._set_progressing(
                d, "True", du.NEW_RS_CREATED, f'Created new replica set "{created.metadata.name}"'
            )
        return created, d

    def _build_rs(self, d: Deployment, collisions: int | None, revision: int, old: list[RS]) -> RS:
        digest = du.pod_template_hash(d.spec.template, collisions)
        rs = RS(api_version="apps/v1", kind="ReplicaSet")
        rs.metadata.name = f"{d.metadata.name}-{digest}"
        rs.metadata.namespace = d.metadata.namespace
        rs.metadata.owner_references.append(cu.owner_reference(d))
        rs.spec.template.CopyFrom(d.spec.template)
        rs.spec.template.metadata.labels[du.POD_TEMPLATE_HASH] = digest
        rs.metadata.labels.update(rs.spec.template.metadata.labels)
        rs.spec.selector.CopyFrom(d.spec.selector)
        rs.spec.selector.match_labels[du.POD_TEMPLATE_HASH] = digest
        rs.spec.min_ready_seconds = d.spec.min_ready_seconds
        rs.spec.replicas = 0
        rs.spec.replicas = du.new_rs_replicas(d, [*old, rs], rs)
        _set_new_rs_annotations(d, rs, revision, exists=False)
        _set_replicas_annotations(d, rs)
        return rs

    async def _creation_refused(self, d: Deployment, rs: RS, error: ApiError) -> None:
        """Say on the Deployment why its new ReplicaSet could not be made (a quota, an
        admission policy): `kubectl describe` shows it there, not in our logs."""
        message = f'Failed to create new replica set "{rs.metadata.name}": {error.message}'
        if du.has_progress_deadline(d):
            fresh = copy_object(d)
            cu.set_condition(
                fresh.status,
                cu.new_condition("Progressing", "False", du.FAILED_RS_CREATE, message),
            )
            try:
                await self.client.update_status(fresh)
            except ApiError:
                pass  # the refusal is the error to retry on; the next one writes this again
        await self.events.record(d, WARNING, du.FAILED_RS_CREATE, message)

    async def _set_revision(self, d: Deployment, revision: str) -> Deployment:
        if not revision or d.metadata.annotations.get(du.REVISION) == revision:
            return d
        fresh = copy_object(d)
        fresh.metadata.annotations[du.REVISION] = revision
        return await self.client.update(fresh)

    # -- scaling and cleanup -----------------------------------------------------------

    async def _scale(self, d: Deployment, rs: RS, replicas: int) -> RS:
        fresh = copy_object(rs)
        fresh.spec.replicas = replicas
        _set_replicas_annotations(d, fresh)
        if fresh == rs:
            return rs
        updated = await self.client.update(fresh)
        if replicas != rs.spec.replicas:
            way = "up" if replicas > rs.spec.replicas else "down"
            log.info(
                f"scaled {way}",
                deployment=kinds.key(d),
                replicaset=rs.metadata.name,
                replicas=replicas,
                was=rs.spec.replicas,
            )
            await self.events.record(
                d,
                NORMAL,
                "ScalingReplicaSet",
                f"Scaled {way} replica set {rs.metadata.name} to {replicas} "
                f"from {rs.spec.replicas}",
            )
        return updated

    async def _cleanup(self, d: Deployment, old: list[RS]) -> None:
        if not d.spec.HasField("revision_history_limit"):
            return
        for rs in du.history_to_delete(old, d.spec.revision_history_limit):
            await delete_exact(self.client, "replicasets", rs)
            log.info(
                "deleted old replica set", deployment=kinds.key(d), replicaset=rs.metadata.name
            )

    # -- status ------------------------------------------------------------------------

    def _calculate_status(
        self, d: Deployment, rss: Sequence[RS], new_rs: RS | None
    ) -> workloads_pb2.DeploymentStatus:
        status = workloads_pb2.DeploymentStatus()
        status.CopyFrom(d.status)
        status.observed_generation = d.metadata.generation
        status.replicas = du.actual_replicas(rss)
        status.updated_replicas = new_rs.status.replicas if new_rs is not None else 0
        status.ready_replicas = du.ready_replicas(rss)
        status.available_replicas = du.available_replicas(rss)
        status.unavailable_replicas = max(0, du.spec_replicas(rss) - status.available_replicas)
        if status.available_replicas >= d.spec.replicas - du.max_unavailable(d):
            cond = cu.new_condition(
                "Available", "True", du.MIN_AVAILABLE, "Deployment has minimum availability."
            )
        else:
            cond = cu.new_condition(
                "Available",
                "False",
                du.MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.",
            )
        cu.set_condition(status, cond)
        return status

    async def _sync_status(self, d: Deployment, rss: Sequence[RS], new_rs: RS | None) -> None:
        status = self._calculate_status(d, rss, new_rs)
        await self._write_status(d, status)

    async def _sync_rollout_status(
        self, d: Deployment, rss: Sequence[RS], new_rs: RS | None
    ) -> None:
        status = self._calculate_status(d, rss, new_rs)
        if not du.has_progress_deadline(d):
            cu.remove_condition(status, "Progressing")
        current = cu.get_condition(d.status.conditions, "Progressing")
        done = (
            status.replicas == status.updated_replicas
            and current is not None
            and current.reason == du.NEW_RS_AVAILABLE
        )
        # Before Recreate makes its new ReplicaSet there is none to name: name the Deployment.
        subject = (
            f'ReplicaSet "{new_rs.metadata.name}"'
            if new_rs is not None
            else f'Deployment "{d.metadata.name}"'
        )
        if du.has_progress_deadline(d) and not done:
            if du.is_complete(d, status):
                cu.set_condition(
                    status,
                    cu.new_condition(
                        "Progressing",
                        "True",
                        du.NEW_RS_AVAILABLE,
                        f"{subject} has successfully progressed.",
                    ),
                )
            elif du.is_progressing(d, status):
                cond = cu.new_condition(
                    "Progressing", "True", du.RS_UPDATED, f"{subject} is progressing."
                )
                if current is not None:
                    if current.status == "True":
                        cond.last_transition_time = current.last_transition_time
                    cu.remove_condition(status, "Progressing")
                cu.set_condition(status, cond)
            elif self._timed_out(d):
                cu.set_condition(
                    status,
                    cu.new_condition(
                        "Progressing",
                        "False",
                        du.TIMED_OUT,
                        f"{subject} has timed out progressing.",
                    ),
                )
                await self.events.record(
                    d,
                    WARNING,
                    du.TIMED_OUT,
                    f'Deployment "{d.metadata.name}" has timed out progressing.',
                )
        failure = _replica_failure(rss, new_rs)
        if failure is not None:
            cu.set_condition(status, failure)
        else:
            cu.remove_condition(status, cu.REPLICA_FAILURE)
        if status == d.status:
            self._requeue_stuck(d, status)
            return
        await self._write_status(d, status)

    def _timed_out(self, d: Deployment) -> bool:
        cond = cu.get_condition(d.status.conditions, "Progressing")
        if cond is None or cond.reason == du.NEW_RS_AVAILABLE:
            return False
        if cond.reason == du.TIMED_OUT:
            return True
        since = cu.parse_time(cond.last_update_time)
        return since is not None and since + d.spec.progress_deadline_seconds < cu.now()

    def _requeue_stuck(self, d: Deployment, status: workloads_pb2.DeploymentStatus) -> None:
        cond = cu.get_condition(status.conditions, "Progressing")
        if not du.has_progress_deadline(d) or cond is None:
            return
        if cond.reason in (du.NEW_RS_AVAILABLE, du.TIMED_OUT) or du.is_complete(d, status):
            return
        since = cu.parse_time(cond.last_update_time)
        if since is None:
            return
        after = since + d.spec.progress_deadline_seconds - cu.now()
        # Timestamps have whole seconds: look a little after the deadline, not before.
        self.queue.add_after(kinds.key(d), max(after, 0.0) + 1.0)

    async def _write_status(self, d: Deployment, status: workloads_pb2.DeploymentStatus) -> None:
        if status == d.status:
            return
        fresh = copy_object(d)
        fresh.status.CopyFrom(status)
        try:
            await self.client.update_status(fresh)
        except NotFound:
            return

    async def _check_paused_condition(self, d: Deployment) -> Deployment:
        if not du.has_progress_deadline(d):
            return d
        cond = cu.get_condition(d.status.conditions, "Progressing")
        if cond is not None and cond.reason == du.TIMED_OUT:
            return d
        paused_now = cond is not None and cond.reason == du.PAUSED
        if d.spec.paused and not paused_now:
            return await self._set_progressing(d, "Unknown", du.PAUSED, "Deployment is paused")
        if not d.spec.paused and paused_now:
            return await self._set_progressing(d, "Unknown", du.RESUMED, "Deployment is resumed")
        return d

    async def _set_progressing(
        self, d: Deployment, status: str, reason: str, message: str
    ) -> Deployment:
        """Write the Progressing condition of `d`; the Deployment as written."""
        fresh = copy_object(d)
        cu.set_condition(fresh.status, cu.new_condition("Progressing", status, reason, message))
        updated: Deployment = await self.client.update_status(fresh)
        return updated


def _set_new_rs_annotations(d: Deployment, rs: RS, new_revision: int, *, exists: bool) -> bool:
    """Copy the Deployment's annotations and raise the revision; whether anything changed."""
    changed = False
    for k, v in d.metadata.annotations.items():
        if k in _SKIPPED_ANNOTATIONS:
            continue
        if rs.metadata.annotations.get(k) != v:
            rs.metadata.annotations[k] = v
            changed = True
    old_revision = du.revision(rs)
    if old_revision < new_revision:
        rs.metadata.annotations[du.REVISION] = str(new_revision)
        changed = True
        if exists and old_revision > 0:
            history = rs.metadata.annotations.get(du.REVISION_HISTORY, "")
            rs.metadata.annotations[du.REVISION_HISTORY] = (
                f"{history},{old_revision}" if history else str(old_revision)
            )
    return changed


def _replica_failure(rss: Sequence[RS], new_rs: RS | None) -> meta_pb2.Condition | None:
    """The ReplicaFailure to show on the Deployment: the new ReplicaSet's, else any old one's."""
    for rs in ([new_rs] if new_rs is not None else []) + list(rss):
        c = cu.get_condition(rs.status.conditions, cu.REPLICA_FAILURE)
        if c is not None:
            # A ReplicaSet's condition has no update time: its transition stands for it.
            return meta_pb2.Condition(
                type=cu.REPLICA_FAILURE,
                status=c.status,
                reason=c.reason,
                message=c.message,
                last_transition_time=c.last_transition_time,
                last_update_time=c.last_transition_time,
            )
    return None


def _set_replicas_annotations(d: Deployment, rs: RS) -> None:
    rs.metadata.annotations[du.DESIRED_REPLICAS] = str(d.spec.replicas)
    rs.metadata.annotations[du.MAX_REPLICAS] = str(d.spec.replicas + du.max_surge(d))

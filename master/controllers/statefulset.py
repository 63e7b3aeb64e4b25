"""StatefulSets: pods with stable names, stable storage and an order, one step per sync.

Identity is the pod's name, `<set>-<ordinal>`, and the API's names are unique: a pod is
never made while its namesake still exists, Terminating or not. A pod on a lost node is
therefore replaced only once that pod object is gone, which happens when its kubelet
confirms its containers stopped, or when the node is deleted or marked out-of-service
(docs/fencing.md). No ordinal can run twice, by construction, whatever the controller's
cache says: a create from a stale cache meets AlreadyExists and the sync stops there.

Each sync, as Kubernetes' stateful set control does:
1. Record the template as a ControllerRevision (history.py): the update revision; the
   current revision is the one all pods had when the last update finished.
2. Delete failed pods (they are made again), then make every missing ordinal below
   `replicas`, its claims first (`<claim template>-<set>-<ordinal>`, kept when the pod
   goes). Under OrderedReady the walk stops at the first ordinal not Running and Ready,
   so `web-1` starts only once `web-0` is ready; under Parallel nothing waits.
3. Delete ordinals at or above `replicas`, highest first; under OrderedReady one at a
   time and only while every other pod is healthy.
4. RollingUpdate: replace the highest pod not at the update revision, down to the
   partition, one at a time and only when every pod is Running and Ready. OnDelete: a
   pod changes revision only when someone deletes it.
5. Write status: replicas, ready, available, current and updated counts and revisions.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

import structlog

from client import kinds
from client.errors import AlreadyExists, ApiError, NotFound
from client.informer import copy_object
from master.controllers import controller_utils as cu
from master.controllers import history
from master.controllers.base import Context, Controller
from master.controllers.expectations import Expectations
from master.controllers.podcontrol import PodControl, pod_from_template
from proto import core_pb2, meta_pb2, workloads_pb2

__all__ = [
    "POD_INDEX_LABEL",
    "POD_NAME_LABEL",
    "REVISION_LABEL",
    "StatefulSetController",
    "claim_name",
    "ordinal_of",
]

log = structlog.get_logger("controllers.statefulset")

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
"""On each pod: the name of the revision it was made from (Kubernetes' label)."""

_ORDINAL = re.compile(r"^(.*)-(\d+)$")


def ordinal_of(set_name: str, pod_name: str) -> int | None:
    """The ordinal in `pod_name` when it is one of `set_name`'s names, else None."""
    found = _ORDINAL.match(pod_name)
    if found is None or found.group(1) != set_name:
        return None
    return int(found.group(2))


def claim_name(template: str, set_name: str, ordinal: int) -> str:
    """The claim of one pod for one of the set's claim templates."""
    return f"{template}-{set_name}-{ordinal}"


def _running_and_ready(pod: core_pb2.Pod) -> bool:
    return pod.status.phase == "Running" and cu.is_pod_ready(pod)


def _failed(pod: core_pb2.Pod) -> bool:
    return pod.status.phase in ("Failed", "Succeeded")


class StatefulSetController(Controller):
    """Keeps each StatefulSet's ordinals, claims, revisions and status."""

    name = "statefulset"
    component = "statefulset-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.sets = ctx.informers.get("statefulsets")
        self.pods = ctx.informers.get("pods")
        self.revisions = ctx.informers.get("controllerrevisions")
        self.pod_control = PodControl(self.client, self.events, Expectations())
        self.sets.add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))
        self.pods.add_handler(
            on_add=self._owner, on_update=lambda o, n: self._owner(n), on_delete=self._owner
        )

    def _owner(self, pod: Any) -> None:
        ref = cu.controller_ref(pod)
        if ref is not None and ref.kind == "StatefulSet":
            self.queue.add(f"{pod.metadata.namespace}/{ref.name}")

    async def sync(self, key: str) -> None:
        cached = self.sets.get(key, copy=False)
        if cached is None or cached.metadata.deletion_timestamp:
            return
        sts: workloads_pb2.StatefulSet = copy_object(cached)
        pods = {
            p.metadata.name: p
            for p in self.pods.by_index(cu.CONTROLLER_UID_INDEX, sts.metadata.uid, copy=False)
            if isinstance(p, core_pb2.Pod)
        }
        current, update = await self._revisions(sts)
        await self._replicas(sts, pods, current, update)
        await self._status(sts, current, update)

    # ---- 1. revisions ----

    def _owned_revisions(self, sts: workloads_pb2.StatefulSet) -> builtins.list[Any]:
        return history.sorted_revisions(
            r
            for r in self.revisions.by_index(cu.CONTROLLER_UID_INDEX, sts.metadata.uid, copy=False)
            if isinstance(r, workloads_pb2.ControllerRevision)
        )

    async def _revisions(
        self, sts: workloads_pb2.StatefulSet
    ) -> tuple[workloads_pb2.ControllerRevision, workloads_pb2.ControllerRevision]:
        """The current and update revisions, making or renumbering the update one."""
        revisions = self._owned_revisions(sts)
        latest = max((r.revision for r in revisions), default=0)
        update = next(
            (r for r in reversed(revisions) if history.same_template(r, sts.spec.template)), None
        )
        if update is None:
            update = await self._create_revision(sts, latest + 1)
        elif update.revision != latest:
            # A return to an older template (rollout undo) makes it the newest revision.
            renumbered = copy_object(update)
            renumbered.revision = latest + 1
            update = await self.client.update(renumbered)
        current = next(
            (r for r in revisions if r.metadata.name == sts.status.current_revision), update
        )
        await self._truncate(sts, revisions, keep={current.metadata.name, update.metadata.name})
        return current, update

    async def _create_revision(
        self, sts: workloads_pb2.StatefulSet, number: int
    ) -> workloads_pb2.ControllerRevision:
        labels = dict(sts.spec.selector.match_labels)
        for collisions in range(8):
            rev = history.new_revision(sts, sts.spec.template, number, labels, collisions)
            try:
                made = await self.client.create(rev)
            except AlreadyExists:
                found = await self.client.get(
                    "controllerrevisions", rev.metadata.namespace, rev.metadata.name
                )
                assert isinstance(found, workloads_pb2.ControllerRevision)
                ref = cu.controller_ref(found)
                if (
                    ref is not None
                    and ref.uid == sts.metadata.uid
                    and history.same_template(found, sts.spec.template)
                ):
                    return found
                continue  # a hash collision with another template: the next name
            assert isinstance(made, workloads_pb2.ControllerRevision)
            return made
        raise RuntimeError(f"no free revision name for statefulset {kinds.key(sts)}")

    async def _truncate(
        self,
        sts: workloads_pb2.StatefulSet,
        revisions: builtins.list[workloads_pb2.ControllerRevision],
        keep: set[str],
    ) -> None:
        """Delete the oldest revisions beyond revisionHistoryLimit (never a live one)."""
        live = {p.metadata.labels.get(REVISION_LABEL, "") for p in self._pods_of(sts)} | keep
        old = [r for r in revisions if r.metadata.name not in live]
        for rev in old[: max(0, len(old) - sts.spec.revision_history_limit)]:
            try:
                await self.client.delete(
                    "controllerrevisions", rev.metadata.namespace, rev.metadata.name,
                    precondition_uid=rev.metadata.uid,
                )  # fmt: skip
            except NotFound:
                pass

    def _pods_of(self, sts: workloads_pb2.StatefulSet) -> builtins.list[core_pb2.Pod]:
        return [
            p
            for p in self.pods.by_index(cu.CONTROLLER_UID_INDEX, sts.metadata.uid, copy=False)
            if isinstance(p, core_pb2.Pod)
        ]

    # ---- 2-4. pods ----

    async def _replicas(
        self,
        sts: workloads_pb2.StatefulSet,
        pods: dict[str, core_pb2.Pod],
        current: workloads_pb2.ControllerRevision,
        update: workloads_pb2.ControllerRevision,
    ) -> None:
        spec = sts.spec
        ordered = spec.pod_management_policy != "Parallel"
        start = spec.ordinals.start
        wanted = range(start, start + spec.replicas)
        for ordinal in wanted:
            pod = pods.get(f"{sts.metadata.name}-{ordinal}")
            if pod is not None and _failed(pod) and not cu.is_pod_terminating(pod):
                await self.pod_control.delete(pod, sts)
                pod = None
                if ordered:
                    return
            if pod is None:
                made = await self._create_pod(sts, ordinal, current, update)
                if ordered or not made:
                    return
                continue
            if ordered and (cu.is_pod_terminating(pod) or not _running_and_ready(pod)):
                return
        await self._condemn(sts, pods, wanted, ordered)
        if spec.update_strategy.type == "RollingUpdate":
            await self._roll(sts, pods, wanted, update)

    def _template_for(
        self,
        sts: workloads_pb2.StatefulSet,
        ordinal: int,
        current: workloads_pb2.ControllerRevision,
        update: workloads_pb2.ControllerRevision,
    ) -> workloads_pb2.ControllerRevision:
        """Below a rolling update's partition a pod is made at the current revision."""
        strategy = sts.spec.update_strategy
        if strategy.type == "RollingUpdate" and ordinal < strategy.rolling_update.partition:
            return current
        return update

    async def _create_pod(
        self,
        sts: workloads_pb2.StatefulSet,
        ordinal: int,
        current: workloads_pb2.ControllerRevision,
        update: workloads_pb2.ControllerRevision,
    ) -> bool:
        """Make the claims and the pod of `ordinal`; False when its name is still taken."""
        revision = self._template_for(sts, ordinal, current, update)
        pod = pod_from_template(history.revision_template(revision), sts)
        name = f"{sts.metadata.name}-{ordinal}"
        pod.metadata.generate_name = ""
        pod.metadata.name = name
        pod.metadata.labels[POD_NAME_LABEL] = name
        pod.metadata.labels[POD_INDEX_LABEL] = str(ordinal)
        pod.metadata.labels[REVISION_LABEL] = revision.metadata.name
        pod.spec.hostname = name
        pod.spec.subdomain = sts.spec.service_name
        for template in sts.spec.volume_claim_templates:
            claim = claim_name(template.metadata.name, sts.metadata.name, ordinal)
            await self._ensure_claim(sts, template, claim, name)
            volumes = [v for v in pod.spec.volumes if v.name != template.metadata.name]
            del pod.spec.volumes[:]
            pod.spec.volumes.extend(volumes)
            pod.spec.volumes.add(
                name=template.metadata.name,
                persistent_volume_claim=core_pb2.PersistentVolumeClaimVolumeSource(
                    claim_name=claim
                ),
            )
        try:
            await self.pod_control.create(pod, sts)
        except AlreadyExists:
            return False  # the namesake is still there: wait until it is gone
        return True

    async def _ensure_claim(
        self,
        sts: workloads_pb2.StatefulSet,
        template: core_pb2.PersistentVolumeClaim,
        name: str,
        pod: str,
    ) -> None:
        claim = core_pb2.PersistentVolumeClaim(api_version="v1", kind="PersistentVolumeClaim")
        claim.metadata.CopyFrom(template.metadata)
        claim.metadata.name = name
        claim.metadata.namespace = sts.metadata.namespace
        claim.metadata.labels.update(sts.spec.selector.match_labels)
        claim.spec.CopyFrom(template.spec)
        if sts.spec.persistent_volume_claim_retention_policy.when_deleted == "Delete":
            # The garbage collector then deletes the claim with the set.
            ref = cu.owner_reference(sts, block=True)
            ref.controller = False
            claim.metadata.owner_references.append(ref)
        try:
            await self.client.create(claim)
        except AlreadyExists:
            return
        except ApiError as e:
            await self.events.record(
                sts, "Warning", "FailedCreate",
                f"create Claim {name} for Pod {pod} in StatefulSet {sts.metadata.name} "
                f"failed error: {e.message}",
            )  # fmt: skip
            raise
        await self.events.record(
            sts, "Normal", "SuccessfulCreate",
            f"create Claim {name} Pod {pod} in StatefulSet {sts.metadata.name} success",
        )  # fmt: skip

    async def _condemn(
        self,
        sts: workloads_pb2.StatefulSet,
        pods: dict[str, core_pb2.Pod],
        wanted: range,
        ordered: bool,
    ) -> None:
        """Delete the pods outside `wanted`, highest ordinal first."""
        condemned: list[tuple[int, core_pb2.Pod]] = []
        for name, pod in pods.items():
            ordinal = ordinal_of(sts.metadata.name, name)
            if ordinal is not None and ordinal not in wanted:
                condemned.append((ordinal, pod))
        condemned.sort(key=lambda pair: pair[0], reverse=True)
        if not condemned:
            return
        if ordered:
            kept = [pods[n] for n in pods if (ordinal_of(sts.metadata.name, n) in wanted)]
            if any(not _running_and_ready(p) or cu.is_pod_terminating(p) for p in kept):
                return
            ordinal, pod = condemned[0]
            if not cu.is_pod_terminating(pod):
                await self._scale_down(sts, pod, ordinal)
            return
        for ordinal, pod in condemned:
            if not cu.is_pod_terminating(pod):
                await self._scale_down(sts, pod, ordinal)

    async def _scale_down(
        self, sts: workloads_pb2.StatefulSet, pod: core_pb2.Pod, ordinal: int
    ) -> None:
        if sts.spec.persistent_volume_claim_retention_policy.when_scaled == "Delete":
            for template in sts.spec.volume_claim_templates:
                await self._claim_owned_by(
                    sts, claim_name(template.metadata.name, sts.metadata.name, ordinal), pod
                )
        await self.pod_control.delete(pod, sts)

    async def _claim_owned_by(
        self, sts: workloads_pb2.StatefulSet, name: str, pod: core_pb2.Pod
    ) -> None:
        """Let the garbage collector delete the claim once its condemned pod is gone: the
        pod becomes its only owner (the collector keeps an object while any owner lives,
        so the set's reference, there under whenDeleted: Delete, is taken off), as
        Kubernetes' StatefulSet controller does."""
        try:
            claim = await self.client.get("persistentvolumeclaims", sts.metadata.namespace, name)
        except NotFound:
            return
        refs = claim.metadata.owner_references
        if [r.uid for r in refs] == [pod.metadata.uid]:
            return
        kept = [r for r in refs if r.uid not in (sts.metadata.uid, pod.metadata.uid)]
        del refs[:]
        refs.extend(kept)
        refs.append(
            meta_pb2.OwnerReference(
                api_version="v1", kind="Pod", name=pod.metadata.name, uid=pod.metadata.uid
            )
        )
        try:
            await self.client.update(claim)
        except (NotFound, ApiError) as e:
            log.info("claim not handed to its pod", claim=name, error=str(e))

    async def _roll(
        self,
        sts: workloads_pb2.StatefulSet,
        pods: dict[str, core_pb2.Pod],
        wanted: range,
        update: workloads_pb2.ControllerRevision,
    ) -> None:
        """Replace the highest pod at or above the partition not at the update revision."""
        members = [pods.get(f"{sts.metadata.name}-{o}") for o in wanted]
        if any(p is None or not _running_and_ready(p) or cu.is_pod_terminating(p) for p in members):
            return
        partition = sts.spec.update_strategy.rolling_update.partition
        for ordinal in reversed(wanted):
            if ordinal < partition:
                return
            pod = pods[f"{sts.metadata.name}-{ordinal}"]
            if pod.metadata.labels.get(REVISION_LABEL) != update.metadata.name:
                log.info(
                    "rolling pod to the update revision",
                    statefulset=kinds.key(sts),
                    pod=pod.metadata.name,
                    revision=update.metadata.name,
                )
                await self.pod_control.delete(pod, sts)
                return

    # ---- 5. status ----

    async def _status(
        self,
        sts: workloads_pb2.StatefulSet,
        current: workloads_pb2.ControllerRevision,
        update: workloads_pb2.ControllerRevision,
    ) -> None:
        now = cu.now()
        pods = [p for p in self._pods_of(sts) if not cu.is_pod_terminating(p)]
        st = workloads_pb2.StatefulSetStatus()
        st.CopyFrom(sts.status)
        st.observed_generation = sts.metadata.generation
        st.replicas = len(pods)
        st.ready_replicas = sum(1 for p in pods if _running_and_ready(p))
        st.available_replicas = sum(
            1 for p in pods if cu.is_pod_available(p, sts.spec.min_ready_seconds, now)
        )
        st.current_replicas = sum(
            1 for p in pods if p.metadata.labels.get(REVISION_LABEL) == current.metadata.name
        )
        st.updated_replicas = sum(
            1 for p in pods if p.metadata.labels.get(REVISION_LABEL) == update.metadata.name
        )
        st.current_revision = current.metadata.name
        st.update_revision = update.metadata.name
        # The update is complete when every wanted pod is at the update revision.
        if st.updated_replicas == sts.spec.replicas and st.ready_replicas == sts.spec.replicas:
            st.current_revision = update.metadata.name
            st.current_replicas = st.updated_replicas
        if st.SerializeToString(deterministic=True) == sts.status.SerializeToString(
            deterministic=True
        ):
            return
        fresh = copy_object(sts)
        fresh.status.CopyFrom(st)
        try:
            await self.client.update_status(fresh)
        except NotFound:
            return
        if sts.spec.min_ready_seconds and st.available_replicas < st.ready_replicas:
            # Availability comes with time, not with an event: look again then.
            self.queue.add_after(kinds.key(sts), float(sts.spec.min_ready_seconds))

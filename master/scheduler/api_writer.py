"""The scheduler's writes through the API: bind, mark unschedulable, preempt, with Events.

Every call goes through the leader's ApiClient, whose options carry the election fence:
a deposed scheduler's binds fail with FencedOut instead of landing.
"""

from __future__ import annotations

import structlog

from client.api import ApiClient
from client.errors import ApiError, Conflict, NotFound
from client.events import NORMAL, WARNING, EventRecorder, now_rfc3339
from master.scheduler.framework import pod_key
from master.scheduler.plugins.volume_binding import select_node_for_claims
from proto import core_pb2, meta_pb2

log = structlog.get_logger("tug-scheduler")


def _copy(pod: core_pb2.Pod) -> core_pb2.Pod:
    out = core_pb2.Pod()
    out.CopyFrom(pod)
    return out


def _set_condition(pod: core_pb2.Pod, cond: meta_pb2.Condition) -> bool:
    """Put `cond` in the pod's conditions; False when an equal one is there already."""
    for existing in pod.status.conditions:
        if existing.type == cond.type:
            same = (existing.status, existing.reason, existing.message) == (
                cond.status,
                cond.reason,
                cond.message,
            )
            if same:
                return False
            if existing.status != cond.status:
                existing.last_transition_time = cond.last_transition_time
            existing.status, existing.reason, existing.message = (
                cond.status,
                cond.reason,
                cond.message,
            )
            existing.last_probe_time = cond.last_probe_time
            return True
    pod.status.conditions.append(cond)
    return True


class ApiWriter:
    """Writer over a (fenced) ApiClient and an EventRecorder on the same client."""

    def __init__(self, api: ApiClient, recorder: EventRecorder) -> None:
        self.api = api
        self.recorder = recorder

    async def bind(self, pod: core_pb2.Pod, node: str) -> None:
        """Update spec.nodeName, guarded by the resourceVersion the decision was based on."""
        # VolumeBinding's PreBind: the pod's WaitForFirstConsumer claims learn the node.
        await select_node_for_claims(self.api, pod, node)
        bound = _copy(pod)
        bound.spec.node_name = node
        bound = await self.api.update(bound)
        if bound.status.nominated_node_name:
            # The nomination from a preemption is fulfilled (or moot): clear it.
            bound.status.nominated_node_name = ""
            try:
                await self.api.update_status(bound)
            except (Conflict, NotFound) as e:
                log.info("nominatedNodeName not cleared", pod=pod_key(pod), error=e.message)
        await self.recorder.record(
            pod, NORMAL, "Scheduled", f"Successfully assigned {pod_key(pod)} to {node}"
        )

    async def mark_unschedulable(self, pod: core_pb2.Pod, message: str) -> None:
        """PodScheduled=False/Unschedulable with the aggregated reasons, and an Event."""
        await self.recorder.record(pod, WARNING, "FailedScheduling", message)
        updated = _copy(pod)
        now = now_rfc3339()
        cond = meta_pb2.Condition(
            type="PodScheduled",
            status="False",
            reason="Unschedulable",
            message=message,
            last_transition_time=now,
            last_probe_time=now,
        )
        if not _set_condition(updated, cond):
            return
        try:
            await self.api.update_status(updated)
        except (Conflict, NotFound) as e:
            # The pod moved on meanwhile; the next attempt writes the condition again.
            log.info("status not written", pod=pod_key(pod), error=e.message)

    async def preempt(self, pod: core_pb2.Pod, node: str, victims: list[core_pb2.Pod]) -> None:
        """Delete each victim gracefully (its own grace period), then nominate the node."""
        for victim in victims:
            try:
                await self.api.delete(
                    "pods",
                    victim.metadata.namespace,
                    victim.metadata.name,
                    precondition_uid=victim.metadata.uid,
                )
            except NotFound:
                continue
            await self.recorder.record(
                victim,
                NORMAL,
                "Preempted",
                f"Preempted by {pod_key(pod)} on node {node}",
            )
        await self.recorder.record(
            pod,
            NORMAL,
            "Preempting",
            f"Preempting {len(victims)} pod(s) on node {node}: "
            + ", ".join(pod_key(v) for v in victims),
        )
        nominated = _copy(pod)
        nominated.status.nominated_node_name = node
        try:
            await self.api.update_status(nominated)
        except ApiError as e:
            log.info("nominatedNodeName not written", pod=pod_key(pod), error=e.message)

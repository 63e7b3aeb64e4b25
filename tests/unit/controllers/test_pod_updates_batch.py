"""With --pod-updates-batch-period, a pod's update queues its owner only after the
period, and the updates of that time share the one sync; a pod's deletion still queues
it at once (its expectations wait on it). Without the flag, every update queues at once."""

from __future__ import annotations

from typing import cast

from client.api import ApiClient
from master.controllers.base import Context
from master.controllers.replicaset import ReplicaSetController
from master.controllers.settings import ControllerSettings
from proto import core_pb2


class Owned(ReplicaSetController):
    """A ReplicaSet controller for which every pod belongs to default/web."""

    def _owner_key(self, pod: core_pb2.Pod) -> str | None:
        return "default/web"


def controller(batch: float) -> Owned:
    settings = ControllerSettings(pod_updates_batch_period=batch)
    return Owned(Context(cast(ApiClient, object()), settings))


def pod(version: str, ready: bool = False, deleted: bool = False) -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name, p.metadata.namespace = "web-1", "default"
    p.metadata.resource_version = version
    if ready:
        c = p.status.conditions.add()
        c.type, c.status = "Ready", "True"
    if deleted:
        p.metadata.deletion_timestamp = "2026-12-05T20:00:00Z"
    return p


async def test_updates_within_the_batch_period_wait_for_one_sync() -> None:
    c = controller(batch=30)
    c._pod_updated(pod("1"), pod("2", ready=True))
    c._pod_updated(pod("2", ready=True), pod("3", ready=True))
    assert len(c.queue) == 0
    assert list(c.queue._delayed) == ["default/web"]
    c.queue.shutdown()


async def test_a_deletion_queues_its_owner_at_once_even_with_a_batch_period() -> None:
    c = controller(batch=30)
    c._pod_updated(pod("1"), pod("2", deleted=True))
    assert len(c.queue) == 1
    c.queue.shutdown()


async def test_without_a_batch_period_an_update_queues_its_owner_at_once() -> None:
    c = controller(batch=0)
    c._pod_updated(pod("1"), pod("2", ready=True))
    assert len(c.queue) == 1
    c.queue.shutdown()

"""Creating and deleting a controller's pods, with the events Kubernetes records for them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import structlog

from client import kinds
from client.api import ApiClient
from client.errors import ApiError, NotFound
from client.events import NORMAL, WARNING, EventRecorder
from client.kinds import Object
from master.controllers.controller_utils import owner_reference
from proto import core_pb2

log = structlog.get_logger("controllers.podcontrol")

T = TypeVar("T")


def pod_from_template(
    template: core_pb2.PodTemplateSpec, owner: Object, *, node_name: str = ""
) -> core_pb2.Pod:
    """A new pod as `owner`'s controller makes it: generateName `<owner>-`, owner reference."""
    pod = core_pb2.Pod(api_version="v1", kind="Pod")
    pod.metadata.generate_name = f"{owner.metadata.name}-"
    pod.metadata.namespace = owner.metadata.namespace
    pod.metadata.labels.update(template.metadata.labels)
    pod.metadata.annotations.update(template.metadata.annotations)
    pod.metadata.owner_references.append(owner_reference(owner))
    pod.spec.CopyFrom(template.spec)
    if node_name:
        pod.spec.node_name = node_name
    return pod


class PodControl:
    """Pod writes on behalf of a controller; each success and failure becomes an Event."""

    def __init__(self, client: ApiClient, events: EventRecorder) -> None:
        self.client = client
        self.events = events

    async def create(self, pod: core_pb2.Pod, owner: Object) -> core_pb2.Pod:
        """Create `pod` for `owner`; raises ApiError after recording FailedCreate."""
        try:
            created = await self.client.create(pod)
        except ApiError as e:
            await self.events.record(owner, WARNING, "FailedCreate", f"Error creating: {e.message}")
            raise
        log.info("created pod", owner=kinds.key(owner), pod=kinds.key(created))
        await self.events.record(
            owner, NORMAL, "SuccessfulCreate", f"Created pod: {created.metadata.name}"
        )
        return created

    async def delete(self, pod: core_pb2.Pod, owner: Object) -> None:
        """Delete `pod` (guarded by its uid); a pod already gone is fine."""
        try:
            await self.client.delete(
                "pods",
                pod.metadata.namespace,
                pod.metadata.name,
                precondition_uid=pod.metadata.uid,
            )
        except NotFound:
            return
        except ApiError as e:
            await self.events.record(owner, WARNING, "FailedDelete", f"Error deleting: {e.message}")
            raise
        log.info("deleted pod", owner=kinds.key(owner), pod=kinds.key(pod))
        await self.events.record(
            owner, NORMAL, "SuccessfulDelete", f"Deleted pod: {pod.metadata.name}"
        )


async def slow_start(
    count: int, create: Callable[[], Awaitable[T]], *, initial: int = 1
) -> tuple[int, Exception | None]:
    """Call `create` `count` times in batches of 1, 2, 4, ...; stop at the first failing batch.

    Returns how many succeeded and the first error. A failing batch means the API refuses
    (quota, invalid template) or is unavailable, so sending more would only pile up
    errors: the caller lowers its expectations by what was never attempted.
    """
    done = 0
    batch = min(initial, count)
    # Each round doubles, so about log2(count) rounds.
    while batch > 0:
        results = await asyncio.gather(*(create() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        done += batch - len(errors)
        if errors:
            first = errors[0]
            if not isinstance(first, Exception):
                raise first
            return done, first
        remaining = count - done
        batch = min(2 * batch, remaining)
    return done, None


async def delete_all(
    pods: Sequence[core_pb2.Pod], delete: Callable[[core_pb2.Pod], Awaitable[None]]
) -> Exception | None:
    """Delete pods concurrently; the first error, if any."""
    results = await asyncio.gather(*(delete(p) for p in pods), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            if not isinstance(r, Exception):
                raise r
            return r
    return None

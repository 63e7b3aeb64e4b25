"""Creating and deleting a controller's pods: with its expectations, and the Events
Kubernetes records for them.

Every controller that owns pods (ReplicaSet, Job, DaemonSet) does the same dance: expect
what it is about to write, write in slow-start batches, and un-expect whatever it never
managed to write, so that the next sync neither waits for pods that will not come nor
creates twice from a cache that has not caught up. `create_pods` and `delete_pods` are that
dance, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, TypeVar

import structlog

from client import kinds
from client.api import ApiClient
from client.errors import ApiError
from client.events import NORMAL, WARNING, EventRecorder
from client.kinds import Object
from master.controllers.controller_utils import owner_reference
from master.controllers.deleting import delete_exact
from master.controllers.expectations import Expectations
from proto import core_pb2

log = structlog.get_logger("controllers.podcontrol")

T = TypeVar("T")


class _Write(NamedTuple):
    """What a pod write records, in Kubernetes' words (RealPodControl's Events)."""

    failed: str
    """The Warning's reason when the API refuses the write."""
    error: str
    """Its message, before the API's."""
    succeeded: str
    """The Normal Event's reason once the write is done."""
    done: str
    """Its message, before the pod's name."""
    logged: str
    """The log line of a done write."""


_CREATE = _Write("FailedCreate", "Error creating", "SuccessfulCreate", "Created pod", "created pod")
_DELETE = _Write("FailedDelete", "Error deleting", "SuccessfulDelete", "Deleted pod", "deleted pod")


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
    """Pod writes on behalf of a controller; each success and failure becomes an Event,
    and batches keep the controller's expectations true."""

    def __init__(
        self, client: ApiClient, events: EventRecorder, expectations: Expectations
    ) -> None:
        self.client = client
        self.events = events
        self.expectations = expectations

    async def create_pods(
        self, key: str, owner: Object, count: int, make: Callable[[], core_pb2.Pod]
    ) -> None:
        """Create `count` pods made by `make` for the owner at `key`, in slow-start batches;
        raises the first error once what was never created is no longer expected."""
        self.expectations.expect_creations(key, count)

        async def create() -> core_pb2.Pod:
            return await self.create(make(), owner)

        done, error = await slow_start(count, create)
        for _ in range(count - done):
            self.expectations.creation_observed(key)
        if error is not None:
            raise error

    async def delete_pods(self, key: str, owner: Object, pods: Sequence[core_pb2.Pod]) -> None:
        """Delete `pods` of the owner at `key` concurrently; raises the first error once a
        pod whose deletion failed is no longer expected to go."""
        self.expectations.expect_deletions(key, [kinds.key(p) for p in pods])

        async def delete(pod: core_pb2.Pod) -> None:
            try:
                await self.delete(pod, owner)
            except Exception:
                self.expectations.deletion_observed(key, kinds.key(pod))
                raise

        error = await delete_all(pods, delete)
        if error is not None:
            raise error

    async def create(self, pod: core_pb2.Pod, owner: Object) -> core_pb2.Pod:
        """Create `pod` for `owner`; raises ApiError after recording FailedCreate."""
        created = await self._write(_CREATE, owner, self.client.create(pod))
        await self._written(_CREATE, owner, created)
        return created

    async def delete(self, pod: core_pb2.Pod, owner: Object) -> None:
        """Delete `pod` (guarded by its uid); a pod already gone is fine."""
        if await self._write(_DELETE, owner, delete_exact(self.client, "pods", pod)):
            await self._written(_DELETE, owner, pod)

    async def _write(self, write: _Write, owner: Object, call: Awaitable[T]) -> T:
        """What `call` gives; an ApiError is raised again once its Warning is recorded."""
        try:
            return await call
        except ApiError as e:
            await self.events.record(owner, WARNING, write.failed, f"{write.error}: {e.message}")
            raise

    async def _written(self, write: _Write, owner: Object, pod: core_pb2.Pod) -> None:
        log.info(write.logged, owner=kinds.key(owner), pod=kinds.key(pod))
        await self.events.record(
            owner, NORMAL, write.succeeded, f"{write.done}: {pod.metadata.name}"
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

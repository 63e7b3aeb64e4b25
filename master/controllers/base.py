"""What every controller is made of: shared informers, a work queue, workers and events.

A controller registers handlers on the shared informers in its constructor (they only
put keys on its queue) and implements `sync(key)`, one level-triggered step. Workers
start only after every informer has listed, so no controller acts on an empty cache.
"""

from __future__ import annotations

import abc
import asyncio
import time
from typing import Any

import structlog

from client.api import ApiClient
from client.events import EventRecorder
from client.informer import Informer
from client.workqueue import WorkQueue, run_workers
from master.controllers import controller_utils as cu
from master.controllers.metrics import SYNC_DURATION
from master.controllers.settings import ControllerSettings

log = structlog.get_logger("controllers")


class InformerSet:
    """One shared informer per resource, each with the owner indexes controllers use."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client
        self._informers: dict[str, Informer[Any]] = {}

    def get(self, resource: str) -> Informer[Any]:
        """The informer of `resource` (all namespaces), created on first use."""
        informer = self._informers.get(resource)
        if informer is None:
            informer = Informer[Any](self._client, resource)
            informer.add_index(cu.CONTROLLER_UID_INDEX, cu.controller_uid)
            informer.add_index(cu.OWNER_UID_INDEX, cu.owner_uids)
            self._informers[resource] = informer
        return informer

    def all(self) -> list[Informer[Any]]:
        """Every informer asked for so far."""
        return list(self._informers.values())


EVENTS_CLOSE_SECONDS = 1.0
"""How long a stopping controller waits for its queued Events to be written."""


class Context:
    """What a controller is given: the API client, the shared informers and the settings."""

    def __init__(
        self, client: ApiClient, settings: ControllerSettings, informers: InformerSet | None = None
    ) -> None:
        self.client = client
        self.settings = settings
        self.informers = informers or InformerSet(client)

    def recorder(self, component: str) -> EventRecorder:
        """An event recorder reporting as `component`."""
        return EventRecorder(self.client, component)


class Controller(abc.ABC):
    """A named work queue, drained by `workers` tasks calling `sync(key)`."""

    name: str = ""
    component: str = ""
    """The source of this controller's events ("replicaset-controller")."""
    max_workers: int | None = None
    """A cap on settings.workers for controllers whose syncs must not run side by side."""

    @classmethod
    def configured(cls, settings: ControllerSettings) -> bool:
        """Whether `settings` give this controller what it needs to run; one that is not
        (the signer without its CA files) is skipped, as kube-controller-manager skips it."""
        return True

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.settings = ctx.settings
        self.queue = WorkQueue(self.name)
        self.events = ctx.recorder(self.component or f"{self.name}-controller")

    @abc.abstractmethod
    async def sync(self, key: str) -> None:
        """One step toward the desired state of `key`; raise to be retried with back-off."""

    async def _timed_sync(self, key: str) -> None:
        started = time.monotonic()
        try:
            await self.sync(key)
        finally:
            SYNC_DURATION.labels(self.name).observe(time.monotonic() - started)

    async def background(self) -> None:  # noqa: B027 (optional, not abstract)
        """Periodic work beside the queue (node monitoring, ...); none by default."""

    async def run(self) -> None:
        """Run the workers (and background work) until cancelled; then shut the queue."""
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.background(), name=f"{self.name}-background")
                tg.create_task(
                    run_workers(self.queue, self._timed_sync, workers=self._workers()),
                    name=f"{self.name}-workers",
                )
        finally:
            self.queue.shutdown()
            # Events are written behind the caller's back: write what is queued before
            # the client this controller shares is closed under it.
            await self.events.close(EVENTS_CLOSE_SECONDS)

    def _workers(self) -> int:
        if self.max_workers is None:
            return self.settings.workers
        return min(self.max_workers, self.settings.workers)

    def enqueue(self, obj: Any) -> None:
        """Queue the key of `obj`."""
        meta = obj.metadata
        self.queue.add(f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name)

"""An in-memory API for one sync of a workload controller at a time.

Tests seed the objects (`put`), let the controller's informers list and watch them
(`synced`), call `sync(key)` once, and read what the sync wrote. Writes behave as the API
server's do where a controller can tell: updates and deletes are guarded (resourceVersion,
uid precondition), an update keeps the stored status and UpdateStatus only changes it, a
spec change bumps the generation, and generateName gets a suffix. Creates of a resource
in `refuse` fail with the error given there. Events are kept, never written.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from client import kinds
from client.api import ApiClient, ObjectList, WatchEvent
from client.errors import AlreadyExists, ApiError, Conflict, NotFound
from client.events import EventRecorder
from client.timestamps import from_epoch
from master.controllers import controller_utils as cu
from master.controllers.base import Context, Controller
from master.controllers.settings import ControllerSettings

Key = tuple[str, str, str]


def _copy(obj: Any) -> Any:
    fresh = type(obj)()
    fresh.CopyFrom(obj)
    return fresh


def _key(obj: Any) -> Key:
    return (kinds.of(obj).resource, obj.metadata.namespace, obj.metadata.name)


class Recorded:
    """An EventRecorder that keeps (type, reason, message) instead of writing Events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def record(self, obj: Any, type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))

    async def close(self, timeout: float = 0.0) -> None:
        pass


class MemoryApi:
    """Objects by (resource, namespace, name), with a watch log per write."""

    def __init__(self) -> None:
        # Any, not Object: objects are used through their spec and status, which most
        # members of the Object union lack.
        self.objects: dict[Key, Any] = {}
        self.refuse: dict[str, ApiError] = {}
        self.updates: list[Any] = []
        """Every object an update wrote, in order (not status writes)."""
        self._revision = 100
        self._log: list[WatchEvent] = []
        self._changed = asyncio.Event()
        self._names = itertools.count(1)

    # -- what tests use ----------------------------------------------------------------

    def put(self, obj: Any) -> Any:
        """Store `obj` as given (uid, generation and times included) and tell the watches."""
        stored = _copy(obj)
        if not stored.metadata.uid:
            stored.metadata.uid = f"uid-{stored.metadata.name}"
        if not stored.metadata.creation_timestamp:
            stored.metadata.creation_timestamp = cu.rfc3339()
        change = "MODIFIED" if _key(stored) in self.objects else "ADDED"
        self._store(change, stored)
        return _copy(stored)

    def stored(self, resource: str, namespace: str, name: str) -> Any:
        """The object as stored now, or None."""
        obj = self.objects.get((resource, namespace, name))
        return None if obj is None else _copy(obj)

    def names(self, resource: str) -> list[str]:
        """The names of the stored objects of `resource`, sorted."""
        return sorted(name for (r, _, name) in self.objects if r == resource)

    # -- the API -----------------------------------------------------------------------

    async def list(self, resource: str, namespace: str = "", **_: Any) -> ObjectList:
        return ObjectList(
            items=[
                _copy(o)
                for k, o in sorted(self.objects.items())
                if self._wanted(k, resource, namespace)
            ],
            resource_version=str(self._revision),
        )

    async def watch(
        self, resource: str, namespace: str = "", *, resource_version: str = "", **_: Any
    ) -> AsyncIterator[WatchEvent]:
        position = int(resource_version or self._revision)
        # Bounded: a test's informers are stopped long before this many wake-ups.
        for _turn in range(100_000):
            changed = self._changed
            for event in self._log:
                if int(event.resource_version) <= position:
                    continue
                position = int(event.resource_version)
                assert event.object is not None
                if self._wanted(_key(event.object), resource, namespace):
                    yield WatchEvent(event.type, _copy(event.object), event.resource_version)
            await changed.wait()

    async def get(
        self, resource: str, namespace: str, name: str, resource_version: str = ""
    ) -> Any:
        obj = self.objects.get((resource, namespace, name))
        if obj is None:
            raise NotFound(f'{resource} "{name}" not found')
        return _copy(obj)

    async def create(self, obj: Any, *, dry_run: bool = False) -> Any:
        resource = kinds.of(obj).resource
        refused = self.refuse.get(resource)
        if refused is not None:
            raise refused
        fresh = _copy(obj)
        meta = fresh.metadata
        if not meta.name:
            meta.name = f"{meta.generate_name}{next(self._names):05d}"
        if _key(fresh) in self.objects:
            raise AlreadyExists(f'{resource} "{meta.name}" already exists')
        meta.uid = f"uid-{meta.name}"
        meta.creation_timestamp = cu.rfc3339()
        if hasattr(fresh, "spec"):
            meta.generation = 1
        self._store("ADDED", fresh)
        return _copy(fresh)

    async def update(self, obj: Any, *, dry_run: bool = False) -> Any:
        stored = self._current(obj)
        fresh = _copy(obj)
        if hasattr(fresh, "status"):
            fresh.status.CopyFrom(stored.status)
        if hasattr(fresh, "spec") and fresh.spec != stored.spec:
            fresh.metadata.generation = stored.metadata.generation + 1
        self.updates.append(_copy(fresh))
        self._store("MODIFIED", fresh)
        return _copy(fresh)

    async def update_status(self, obj: Any) -> Any:
        stored = self._current(obj)
        fresh = _copy(stored)
        fresh.status.CopyFrom(obj.status)
        self._store("MODIFIED", fresh)
        return _copy(fresh)

    async def delete(self, resource: str, namespace: str, name: str, **options: Any) -> Any:
        key = (resource, namespace, name)
        stored = self.objects.get(key)
        if stored is None:
            raise NotFound(f'{resource} "{name}" not found')
        uid = options.get("precondition_uid")
        if uid and uid != stored.metadata.uid:
            raise Conflict(f'{resource} "{name}": the uid precondition failed')
        del self.objects[key]
        self._revision += 1
        self._log.append(WatchEvent("DELETED", _copy(stored), str(self._revision)))
        self._wake()
        return _copy(stored)

    # -- inside ------------------------------------------------------------------------

    @staticmethod
    def _wanted(key: Key, resource: str, namespace: str) -> bool:
        return key[0] == resource and (not namespace or key[1] == namespace)

    def _current(self, obj: Any) -> Any:
        stored = self.objects.get(_key(obj))
        if stored is None:
            raise NotFound(f'{_key(obj)[0]} "{obj.metadata.name}" not found')
        if obj.metadata.resource_version != stored.metadata.resource_version:
            raise Conflict(f'the object "{obj.metadata.name}" has been modified')
        return stored

    def _store(self, change: str, obj: Any) -> None:
        self._revision += 1
        obj.metadata.resource_version = str(self._revision)
        self.objects[_key(obj)] = obj
        self._log.append(WatchEvent(change, _copy(obj), str(self._revision)))
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


@asynccontextmanager
async def synced(api: MemoryApi, make: type[Controller]) -> AsyncIterator[tuple[Any, Recorded]]:
    """A controller of class `make` over `api`, its informers listed, and its Events; no
    workers run: the test calls `sync(key)` itself."""
    ctx = Context(cast(ApiClient, api), ControllerSettings())
    controller = make(ctx)
    recorded = Recorded()
    controller.events = cast(EventRecorder, recorded)
    pod_control = getattr(controller, "pod_control", None)
    if pod_control is not None:
        pod_control.events = recorded
    informers = ctx.informers.all()
    for informer in informers:
        informer.start()
    try:
        for informer in informers:
            assert await informer.wait_synced(10)
        yield controller, recorded
    finally:
        controller.queue.shutdown()
        for informer in informers:
            await informer.stop()


def ago(seconds: float) -> str:
    """The API's timestamp `seconds` before now."""
    return from_epoch(cu.now() - seconds)

"""Informers: list, then watch, into a local read-only cache with indexes and handlers.

Controllers read the world only from informer caches, so the cache must end up equal to
the API's state whatever happens to the connection:

- it starts with a paginated list and watches from that list's resourceVersion, so no
  change between the two is missed;
- the client's watch already resumes on another API server without loss; when it cannot
  resume because the revision was compacted (Gone), the informer lists again and
  reconciles: objects that vanished are reported as deleted, changed ones as updated;
- on any other error it watches again from the last revision it applied, with back-off;
- a replayed event older than the cached object (by resourceVersion) is ignored, which
  makes the hand-over from list to watch safe even if pages were read at later revisions.

The cache hands out copies by default (`copy=False` gives the stored message, faster,
for callers that promise not to modify it): level-triggered controllers modify what
they read and write it back, and a modified cache entry would be a silent lie to every
other reader. Handlers get copies too. Handlers are called in event order from the
informer's task; they should be quick (put a key on a work queue) because the informer
waits for them before applying the next event. Register handlers before `run()`.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, cast

import structlog
from typing_extensions import TypeVar

from client import kinds
from client.api import WatchEvent, list_every_page
from client.backoff import Backoff
from client.errors import Gone
from client.kinds import Object
from client.timeouts import within
from client.verbs import ListerWatcher

__all__ = ["NAMESPACE_INDEX", "NODE_INDEX", "IndexFunc", "Informer", "ListerWatcher", "copy_object"]

T = TypeVar("T", bound=Object, default=Object)

log = structlog.get_logger("client.informer")

NAMESPACE_INDEX = "namespace"
"""Objects by metadata.namespace; every informer has it."""
NODE_INDEX = "node"
"""Pods by spec.nodeName ("" for pods not yet scheduled); pod informers have it."""

IndexFunc = Callable[[Any], "str | Iterable[str] | None"]
"""The index values of an object: one string, several, or None for none."""


@dataclass
class _Handler:
    on_add: Callable[[Any], object] | None
    on_update: Callable[[Any, Any], object] | None
    on_delete: Callable[[Any], object] | None
    copies: bool = True
    """Hand out copies; only handlers of ours that never keep or change objects skip it."""


def copy_object(obj: T) -> T:
    """A deep copy of an API object, to modify without touching the original."""
    fresh = type(obj)()
    fresh.CopyFrom(cast(Any, obj))
    return fresh


def _same(obj: T) -> T:
    return obj


def _revision(version: str) -> int | None:
    try:
        return int(version)
    except ValueError:
        return None


class Informer(Generic[T]):
    """A cache of one resource, optionally narrowed to a namespace and selectors.

    `Informer[core_pb2.Pod](client, "pods")` types what the cache returns; keys are
    `namespace/name` (`name` for cluster-scoped kinds), as `client.kinds.key` makes them.
    """

    def __init__(
        self,
        client: ListerWatcher,
        resource: str,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        *,
        page_size: int = 500,
        backoff: Backoff | None = None,
    ) -> None:
        self.kind = kinds.by_resource(resource)
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.page_size = page_size
        self._client = client
        self._backoff = backoff or Backoff(base=0.2, cap=10.0)
        self._objects: dict[str, T] = {}
        self._index_funcs: dict[str, IndexFunc] = {}
        self._indexes: dict[str, dict[str, set[str]]] = {}
        self._handlers: builtins.list[_Handler] = []
        self._resource_version = ""
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.add_index(NAMESPACE_INDEX, lambda obj: obj.metadata.namespace)
        if resource == "pods":
            self.add_index(NODE_INDEX, lambda obj: obj.spec.node_name)

    # -- reading the cache -----------------------------------------------------------

    @property
    def resource_version(self) -> str:
        """The revision the cache reflects: the last list's or the last event's."""
        return self._resource_version

    def has_synced(self) -> bool:
        """True once the first list is in the cache."""
        return self._synced.is_set()

    async def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until the first list is in the cache; False if `timeout` s passed first."""
        try:
            await within(self._synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def get(self, key: str, *, copy: bool = True) -> T | None:
        """The object stored under `namespace/name` (or `name`), or None."""
        obj = self._objects.get(key)
        if obj is None or not copy:
            return obj
        return copy_object(obj)

    def list(self, *, copy: bool = True) -> builtins.list[T]:
        """Every object in the cache, sorted by key."""
        return [self._out(self._objects[k], copy) for k in sorted(self._objects)]

    def keys(self) -> builtins.list[str]:
        """Every key in the cache, sorted."""
        return sorted(self._objects)

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, key: object) -> bool:
        return key in self._objects

    def by_index(self, name: str, value: str, *, copy: bool = True) -> builtins.list[T]:
        """The objects whose index `name` has `value`, sorted by key; KeyError if no index."""
        try:
            index = self._indexes[name]
        except KeyError:
            raise KeyError(f'informer for {self.resource} has no index "{name}"') from None
        return [self._out(self._objects[k], copy) for k in sorted(index.get(value, ()))]

    def add_index(self, name: str, fn: IndexFunc) -> None:
        """Index the cache by `fn(obj)`'s values under `name` (existing objects included)."""
        self._index_funcs[name] = fn
        index: dict[str, set[str]] = {}
        self._indexes[name] = index
        for key, obj in self._objects.items():
            for value in self._index_values(fn, obj):
                index.setdefault(value, set()).add(key)

    def add_handler(
        self,
        on_add: Callable[[T], object] | None = None,
        on_update: Callable[[T, T], object] | None = None,
        on_delete: Callable[[T], object] | None = None,
    ) -> None:
        """Call these (plain functions or coroutines) on every change, in event order."""
        self._handlers.append(_Handler(on_add, on_update, on_delete))

    def add_key_handler(self, enqueue: Callable[[str], object]) -> None:
        """Call enqueue(key) on every add, update and delete: a controller's usual handler.

        `queue.add` of a `client.workqueue.WorkQueue` fits. No copies are made, since
        only the key is read.
        """

        def by_key(obj: Object) -> object:
            return enqueue(kinds.key(obj))

        self._handlers.append(_Handler(by_key, lambda _old, new: by_key(new), by_key, copies=False))

    # -- running ---------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run the informer in a task of its own; `await stop()` ends it."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name=f"informer-{self.resource}")
        return self._task

    async def stop(self) -> None:
        """Stop the running task (started by start()) and wait until it has ended."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def run(self) -> None:
        """List, then watch, until stopped or cancelled; re-lists on Gone."""
        need_list = True
        # Each turn lists and/or watches until an error; stop() or cancellation ends it.
        while not self._stopping:
            try:
                if need_list:
                    await self._relist()
                    need_list = False
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Gone as e:
                log.info(
                    "watch expired, listing again",
                    resource=self.resource,
                    namespace=self.namespace,
                    resource_version=self._resource_version,
                    error=e.message,
                )
                need_list = True
                delay = self._backoff.next()
                # The first Gone after a healthy watch is routine: list at once. Another
                # one before any event means something is off: back off, do not spin.
                await asyncio.sleep(0 if self._backoff.attempts == 1 else delay)
            except Exception as e:
                delay = self._backoff.next()
                log.warning(
                    "informer failed, retrying",
                    resource=self.resource,
                    namespace=self.namespace,
                    resource_version=self._resource_version,
                    error=f"{type(e).__name__}: {e}",
                    retry_in=round(delay, 3),
                )
                await asyncio.sleep(delay)

    async def _watch(self) -> None:
        events = self._client.watch(
            self.resource,
            self.namespace,
            resource_version=self._resource_version,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            allow_bookmarks=True,
        )
        try:
            async for event in events:
                await self._apply(event)
                self._backoff.reset()
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        raise RuntimeError("the watch ended")

    async def _relist(self) -> None:
        listed = await list_every_page(
            self._client,
            self.resource,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            page_size=self.page_size,
        )
        await self._replace(cast(builtins.list[T], listed.items), listed.resource_version)

    async def _replace(self, items: builtins.list[T], version: str) -> None:
        """Make the cache equal to a fresh list, then report the differences."""
        fresh = {kinds.key(obj): obj for obj in items}
        old = self._objects
        added = [fresh[k] for k in fresh if k not in old]
        updated = [
            (old[k], fresh[k])
            for k in fresh
            if k in old and old[k].metadata.resource_version != fresh[k].metadata.resource_version
        ]
        deleted = [old[k] for k in old if k not in fresh]
        for obj in deleted:
            self._remove(kinds.key(obj))
        for obj in items:
            self._store(obj)
        self._resource_version = version
        first = not self._synced.is_set()
        log.info(
            "listed",
            resource=self.resource,
            namespace=self.namespace,
            resource_version=version,
            objects=len(fresh),
            added=len(added),
            updated=len(updated),
            deleted=len(deleted),
            first=first,
        )
        for obj in deleted:
            await self._dispatch("DELETED", obj, None)
        for obj in added:
            await self._dispatch("ADDED", obj, None)
        for before, after in updated:
            await self._dispatch("MODIFIED", after, before)
        # Synced once every handler has had the first list, as client-go's: a controller
        # that waits for it starts its workers on state its handlers have seen.
        self._synced.set()

    async def _apply(self, event: WatchEvent) -> None:
        if event.resource_version:
            self._resource_version = event.resource_version
        obj = cast("T | None", event.object)
        if event.type == "BOOKMARK" or obj is None:
            return
        key = kinds.key(obj)
        old = self._objects.get(key)
        if event.type == "DELETED":
            if old is None:
                return
            self._remove(key)
            await self._dispatch("DELETED", obj, None)
            return
        if event.type not in ("ADDED", "MODIFIED"):
            log.warning(
                "unknown watch event type", type=event.type, resource=self.resource, key=key
            )
            return
        if old is not None:
            was, now = (
                _revision(old.metadata.resource_version),
                _revision(obj.metadata.resource_version),
            )
            if was is not None and now is not None and now <= was:
                return  # a replay of what the cache already has
        self._store(obj)
        if old is None:
            await self._dispatch("ADDED", obj, None)
        else:
            await self._dispatch("MODIFIED", obj, old)

    # -- the cache and its indexes ---------------------------------------------------

    def _store(self, obj: T) -> None:
        key = kinds.key(obj)
        if key in self._objects:
            self._unindex(key, self._objects[key])
        self._objects[key] = obj
        for name, fn in self._index_funcs.items():
            index = self._indexes[name]
            for value in self._index_values(fn, obj):
                index.setdefault(value, set()).add(key)

    def _remove(self, key: str) -> None:
        obj = self._objects.pop(key, None)
        if obj is not None:
            self._unindex(key, obj)

    def _unindex(self, key: str, obj: T) -> None:
        for name, fn in self._index_funcs.items():
            index = self._indexes[name]
            for value in self._index_values(fn, obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    @staticmethod
    def _index_values(fn: IndexFunc, obj: Object) -> builtins.list[str]:
        values = fn(obj)
        if values is None:
            return []
        if isinstance(values, str):
            return [values]
        return list(values)

    @staticmethod
    def _out(obj: T, copy: bool) -> T:
        return copy_object(obj) if copy else obj

    async def _dispatch(self, type: str, obj: T, old: T | None) -> None:
        for handler in self._handlers:
            try:
                out = copy_object if handler.copies else _same
                result: object = None
                if type == "ADDED" and handler.on_add is not None:
                    result = handler.on_add(out(obj))
                elif type == "MODIFIED" and handler.on_update is not None:
                    assert old is not None
                    result = handler.on_update(out(old), out(obj))
                elif type == "DELETED" and handler.on_delete is not None:
                    result = handler.on_delete(out(obj))
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "informer handler failed",
                    resource=self.resource,
                    key=kinds.key(obj),
                    event_type=type,
                )

"""One kind's watch cache: a single etcd watch fanned out to every watcher from memory.

Without it each API watch was an etcd watch of its own, and every change was decoded
once per watcher: at a thousand node watchers a pod write cost the API server more than
the write itself. Like kube-apiserver's cacher, a `Cacher` lists its kind once, then
follows one etcd watch (without previous values: the store already holds them; read by
a thread of its own, at etcd's pace however busy the loop: etcdreader.py) and keeps

- a store of every object, so a deletion or an update knows the state it replaces, and
  lists at resourceVersion "0" need no etcd read;
- a window of the most recent changes, so a watcher resumes from any revision still in
  it without touching etcd;
- the watchers, each with its own selection and bounded queue.

Each change is decoded once and, per watcher, only judged by its selectors; the wire
bytes of an object are made once however many watchers get it. A watcher that falls a
whole queue behind is ended with Unavailable (as kube-apiserver closes a slow watcher),
so it resumes from its last revision instead of holding every other watcher back or
growing without bound.

A progress notification (an etcd response without events) moves the cacher's revision
on only where etcd sends it after every event it covers (3.4.31, 3.5.13 and later).
Older etcd may send it while events up to its revision are still queued on the stream
(etcd-io/etcd#15220, this machine's 3.4.23): taken at its word, a watcher started then
would skip those events, and an etcd watch resumed after it would never see them. There
the revision is the last event's, and bookmarks carry that.

When the etcd watch breaks the cacher resumes after its revision; when that revision is
compacted it lists again and ends every watcher, who resumes or re-lists as after any
broken watch. When the API server stops, its etcd watches end, and so does every watcher
here, with the message that sends clients to another server.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aetcd import rpc

from client import errors
from client.kinds import Kind, Object
from client.timeouts import cancel_and_wait, within
from master.apiserver import objects
from master.apiserver.etcd import Etcd, prefix_end
from master.apiserver.listing import list_objects
from master.apiserver.metrics import ApiServerMetrics
from master.apiserver.selection import Selection
from master.apiserver.watchbatch import take
from master.apiserver.watching import bookmark, object_from_key, selected_change
from proto import api_pb2

log = structlog.get_logger("apiserver.cacher")

WINDOW = 10_000
"""Changes kept for watchers that resume; kube-apiserver's cache keeps up to 100,000 per
resource, sized by recent traffic. A watcher older than the window is served by its own
etcd watch, as before the cache, so a small window costs speed, never correctness."""
QUEUE = 10_000
"""Events a watcher may have pending before it is ended as too slow."""
RETRY_SECONDS = (0.05, 1.0)
"""First and longest pause before following etcd again after the watch broke."""
PROGRESS_ASK_SECONDS = 0.2
"""How often a reader waiting for the cache to catch up asks etcd for progress again
(etcd leaves a progress request unanswered while its watcher is still catching up)."""


def _stamped(obj: Object, revision: int) -> Object:
    """A copy of `obj` carrying `revision` as its resourceVersion (a deletion's object is
    the last state, stamped with the revision of the deletion)."""
    copy: Any = type(obj)()
    copy.CopyFrom(obj)
    copy.metadata.resource_version = str(revision)
    result: Object = copy
    return result


@dataclass
class Change:
    """One committed change of the kind, decoded once for every watcher."""

    revision: int
    key: bytes
    prev: Object | None
    """The state it replaced, stamped with `revision`; None for a new object."""
    cur: Object | None
    """The new state; None for a deletion."""
    _wire: dict[int, bytes] = field(default_factory=dict)

    def event(self, type_: str, obj: Object) -> api_pb2.WatchEvent:
        """The watch event, serializing each object once however many watchers get it."""
        raw = self._wire.get(id(obj))
        if raw is None:
            raw = self._wire[id(obj)] = obj.SerializeToString()
        return api_pb2.WatchEvent(type=type_, object=raw, resource_version=str(self.revision))


@dataclass
class Counters:
    """The cache's metrics for one resource (metrics.py), bound once: looking a labelled
    series up per event and watcher cost as much as judging the event."""

    sent: Callable[[], None] = lambda: None
    dropped: Callable[[], None] = lambda: None
    received: Callable[[], None] = lambda: None
    size: Callable[[float], None] = lambda _: None

    @classmethod
    def of(cls, metrics: ApiServerMetrics | None, resource: str) -> Counters:
        if metrics is None:
            return cls()
        return cls(
            sent=metrics.watch_events.labels(resource).inc,
            dropped=metrics.terminated_watchers.labels(resource).inc,
            received=metrics.watch_cache_received.labels(resource).inc,
            size=metrics.watch_cache_objects.labels(resource).set,
        )


def _node_name(pod: Any) -> str:
    return str(pod.spec.node_name)


def _nodes_of(change: Change) -> set[str]:
    """The nodes of the pod before and after a change."""
    return {_node_name(o) for o in (change.prev, change.cur) if o is not None}


def node_of_selection(selection: Selection) -> str | None:
    """The node of a `spec.nodeName=X` requirement (a kubelet's watch of its pods)."""
    if selection.fields is None:
        return None
    for req in selection.fields.requirements:
        if req.field == "spec.nodeName" and req.op in ("=", "=="):
            return str(req.value)
    return None


class Watcher:
    """One API watch: its namespace's key prefix, its selection, and what it has yet to
    send. `after` is the revision it has seen: older changes are not its to hear."""

    def __init__(
        self,
        kind: Kind,
        prefix: bytes,
        selection: Selection,
        after: int,
        bookmarks: bool,
        counters: Counters | None = None,
    ) -> None:
        self.kind = kind
        self.prefix = prefix
        self.selection = selection
        self.after = after
        self.bookmarks = bookmarks
        self.counters = counters or Counters()
        self.node = node_of_selection(selection) if kind.resource == "pods" else None
        """The one node whose pods it asked for (spec.nodeName=X), if it did."""
        self._pending: collections.deque[api_pb2.WatchEvent] = collections.deque()
        self._wake = asyncio.Event()
        self._ended: errors.ApiError | None = None

    def offer(self, change: Change) -> None:
        if self._ended is not None or change.revision <= self.after:
            return
        if not change.key.startswith(self.prefix):
            return
        decided = selected_change(self.selection, change.prev, change.cur)
        if decided is None:
            return
        self._pending.append(change.event(*decided))
        self.counters.sent()
        if len(self._pending) > QUEUE:
            self.counters.dropped()
            self.end(errors.Unavailable("the watch fell too far behind: watch again"))
        self._wake.set()

    def progress(self, revision: int) -> None:
        """Everything up to `revision` has been offered: a BOOKMARK, if it asked for them."""
        if self.bookmarks and self._ended is None and revision >= self.after:
            self._pending.append(bookmark(self.kind, revision))
            self._wake.set()

    def end(self, error: errors.ApiError) -> None:
        """End the watch with `error` (what is pending is dropped: the client resumes from
        the last revision it received)."""
        if self._ended is None:
            self._ended = error
            self._pending.clear()
            self._wake.set()

    async def batches(self) -> AsyncGenerator[list[api_pb2.WatchEvent], None]:
        """What is pending, a batch at a time (watchbatch.take): what arrives while one
        is being sent goes in the next."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                yield take(self._pending)
            if self._ended is not None:
                raise self._ended


class Cacher:
    """The store, window and watchers of one kind, fed by one etcd watch."""

    def __init__(
        self,
        etcd: Etcd,
        kind: Kind,
        *,
        progress_every: float = 0.0,
        metrics: ApiServerMetrics | None = None,
        progress_ordered: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.etcd = etcd
        self.kind = kind
        self.progress_every = progress_every
        self._progress_ordered = progress_ordered
        """Asked once, before the first list: whether etcd's progress notifications come
        after every event they cover (None: they do)."""
        self.progress_moves_revision = progress_ordered is None
        self.counters = Counters.of(metrics, kind.resource)
        self.store: dict[bytes, Object] = {}
        self.revision = 0
        """Every change up to this revision is in the store."""
        self.oldest = 0
        """Every change after this revision is in the window (or yet to come)."""
        self.window: collections.deque[Change] = collections.deque()
        self.watchers: set[Watcher] = set()
        self.unindexed: set[Watcher] = set()
        self.bookmarking: set[Watcher] = set()
        """The watchers that asked for bookmarks: a progress notification (one per
        consistent list from the cache) concerns only them."""
        self.by_node: dict[str, set[Watcher]] = {}
        """Pod watchers of one node, offered only that node's pods' changes: a kubelet's
        watch costs nothing when other nodes' pods change."""
        self.pods_of_node: dict[str, dict[bytes, Object]] = {}
        """The stored pods by spec.nodeName (pods only): a kubelet's list of its own pods
        reads its few, not every pod of the cluster."""
        self._advanced = asyncio.Event()
        """Set (and replaced) each time `revision` moves on."""
        self._progress_wanted = asyncio.Event()
        self.ready = asyncio.Event()
        self.stopped = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"cacher {self.kind.resource}")

    async def close(self) -> None:
        self.stopped = True
        self._end_all(errors.Unavailable("the API server is shutting down: watch another one"))
        if self._task is not None:
            await cancel_and_wait([self._task], 5.0)

    # Serving ---------------------------------------------------------------------------

    def can_serve(self, after: int) -> bool:
        """Whether a watch from revision `after` can be served from memory."""
        return self.ready.is_set() and not self.stopped and after >= self.oldest

    def watch(
        self, namespace: str, selection: Selection, after: int, *, bookmarks: bool
    ) -> Watcher:
        """A watcher of every change after `after` (see can_serve): the window's changes
        are queued now and later ones as they come, with no gap between (nothing awaits)."""
        prefix = objects.collection_prefix(self.kind, namespace)
        watcher = Watcher(self.kind, prefix, selection, after, bookmarks, self.counters)
        for change in self._since(after):
            if watcher.node is None or watcher.node in _nodes_of(change):
                watcher.offer(change)
        self.watchers.add(watcher)
        if bookmarks:
            self.bookmarking.add(watcher)
        if watcher.node is None:
            self.unindexed.add(watcher)
        else:
            self.by_node.setdefault(watcher.node, set()).add(watcher)
        return watcher

    def _since(self, after: int) -> list[Change]:
        """The window's changes after revision `after`, oldest first, read from the newest
        end: a watch from now costs nothing however full the window (a kubelet's new pod
        watch used to walk all 10,000 changes to skip them)."""
        missed: list[Change] = []
        for change in reversed(self.window):
            if change.revision <= after:
                break
            missed.append(change)
        missed.reverse()
        return missed

    def forget(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)
        self.bookmarking.discard(watcher)
        self.unindexed.discard(watcher)
        if watcher.node is not None:
            same = self.by_node.get(watcher.node)
            if same is not None:
                same.discard(watcher)
                if not same:
                    del self.by_node[watcher.node]

    def _audience(self, change: Change) -> list[Watcher]:
        """The watchers that may care about `change`."""
        if not self.by_node:
            return list(self.unindexed)
        audience = list(self.unindexed)
        for node in _nodes_of(change):
            audience.extend(self.by_node.get(node, ()))
        return audience

    def snapshot(self, namespace: str, selection: Selection) -> tuple[list[Object], int]:
        """Every selected object in key order, and the revision they are current at."""
        prefix = objects.collection_prefix(self.kind, namespace)
        node = node_of_selection(selection) if self.kind.resource == "pods" else None
        store = self.store if node is None else self.pods_of_node.get(node, {})
        items = [
            obj
            for key, obj in sorted(store.items())
            if key.startswith(prefix) and selection.matches(obj)
        ]
        return items, self.revision

    async def wait_fresh(self, revision: int, timeout: float) -> bool:
        """Whether the store reached `revision` within `timeout` s, asking etcd for a
        progress notification meanwhile: a kind nobody writes would otherwise never move
        its revision on (kube-apiserver's consistent read from cache waits the same way)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for _ in range(int(timeout / PROGRESS_ASK_SECONDS) + 2):
            if self.stopped or not self.ready.is_set():
                return False
            if self.revision >= revision:
                return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._progress_wanted.set()
            try:
                await within(self._advanced.wait(), min(left, PROGRESS_ASK_SECONDS))
            except TimeoutError:
                pass
        return self.revision >= revision and self.ready.is_set() and not self.stopped

    def _moved_on(self) -> None:
        self._advanced.set()
        self._advanced = asyncio.Event()

    # Following etcd --------------------------------------------------------------------

    async def _run(self) -> None:
        if self._progress_ordered is not None:
            self.progress_moves_revision = await self._progress_ordered()
        pause = RETRY_SECONDS[0]
        while not self.stopped and not self.etcd.closing:
            try:
                if not self.ready.is_set():
                    await self._list()
                await self._follow()
            except errors.Gone:
                log.info("watch cache re-lists", key=self.kind.resource, revision=self.revision)
                self.ready.clear()
                self._end_all(errors.Unavailable("the watch cache re-listed: watch again"))
            except errors.Unavailable as e:
                if self.etcd.closing:
                    break
                log.warning("watch cache lost etcd", key=self.kind.resource, error=e.message)
            except errors.ApiError as e:
                log.warning("watch cache failed", key=self.kind.resource, error=e.message)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_SECONDS[1])
        self._end_all(errors.Unavailable("the API server is shutting down: watch another one"))

    async def _list(self) -> None:
        page = await list_objects(self.etcd, self.kind, "", Selection())
        self.store = {
            objects.object_key(self.kind, obj.metadata.namespace, obj.metadata.name): obj
            for obj in page.items
        }
        self.pods_of_node = {}
        if self.kind.resource == "pods":
            for key, obj in self.store.items():
                self.pods_of_node.setdefault(_node_name(obj), {})[key] = obj
        self.revision = self.oldest = page.resource_version
        self.window.clear()
        self.counters.size(len(self.store))
        self.ready.set()
        self._moved_on()

    async def _follow(self) -> None:
        prefix = objects.collection_prefix(self.kind)
        stream = self.etcd.watch(
            prefix,
            prefix_end(prefix),
            start_revision=self.revision + 1,
            prev_kv=False,
            progress_every=self.progress_every,
            progress_wanted=self._progress_wanted,
            threaded=True,
        )
        try:
            async for resp in stream:
                if resp.created:
                    continue
                if resp.events:
                    for event in resp.events:
                        self._apply(event)
                else:
                    # A progress notification: every change up to its revision was sent,
                    # where etcd orders them (see the module's docstring).
                    if self.progress_moves_revision:
                        self.revision = max(self.revision, int(resp.header.revision))
                    for watcher in list(self.bookmarking):
                        watcher.progress(self.revision)
                self._moved_on()
        finally:
            await stream.aclose()

    def _apply(self, event: Any) -> None:
        revision = int(event.kv.mod_revision)
        key = bytes(event.kv.key)
        old = self.store.get(key)
        prev = _stamped(old, revision) if old is not None else None
        if event.type == rpc.Event.DELETE:
            self.store.pop(key, None)
            if prev is None:  # not in the store: name what was deleted from its key
                prev = object_from_key(self.kind, key, revision)
            change = Change(revision, key, prev, None)
            cur = None
        else:
            cur = objects.decode_stored(self.kind, event.kv.value, revision)
            self.store[key] = cur
            change = Change(revision, key, prev, cur)
        if self.kind.resource == "pods":
            self._index_pod(key, old, cur)
        self.counters.size(len(self.store))
        self.revision = revision
        self.counters.received()
        self.window.append(change)
        if len(self.window) > WINDOW:
            self.oldest = self.window.popleft().revision
        for watcher in self._audience(change):
            watcher.offer(change)

    def _index_pod(self, key: bytes, old: Object | None, cur: Object | None) -> None:
        if old is not None:
            node = _node_name(old)
            pods = self.pods_of_node.get(node)
            if pods is not None:
                pods.pop(key, None)
                if not pods:
                    del self.pods_of_node[node]
        if cur is not None:
            self.pods_of_node.setdefault(_node_name(cur), {})[key] = cur

    def _end_all(self, error: errors.ApiError) -> None:
        for watcher in list(self.watchers):
            watcher.end(error)
        self.watchers.clear()
        self.bookmarking.clear()
        self.unindexed.clear()
        self.by_node.clear()

"""Every watch and every resourceVersion="0" list of an API server, served from its watch
caches (cacher.py): one per kind, made at the first watch of that kind and kept while
the server runs.

Kubernetes' rules for where a request is served from:

- A watch from a revision still in the cache's window is served from memory; from an
  older one, by an etcd watch of its own as before (which answers Gone once etcd has
  compacted it, so a client never misses a change either way). That etcd watch lasts
  only until it has sent a revision the window holds: the cache serves every change
  after it. An informer that listed a moment before its kind's cache began would
  otherwise keep an etcd watch, decoded for it alone, for as long as it runs.
- A watch from "" starts with a consistent list read from etcd, then follows the cache
  from that list's revision; from "0" the initial state is the cache's own, as
  kube-apiserver serves "0" (any state the server has seen).
- A list at "0", or "not older than" a revision the cache has reached, comes from the
  cache. One "not older than" a revision the cache has not reached yet waits up to
  `NOT_OLDER_THAN_SECONDS` for it, as kube-apiserver waits for a fresh cache, and then
  reads etcd. A kubelet that reconnects lists its pods "not older than" its renewed
  Lease: that list holds every change committed before the kubelet was back, as a
  consistent one would, but under load it costs a dict lookup, not a decode of every
  pod of the cluster from etcd.
- A consistent list (resourceVersion "", no limit or continue) comes from the cache too
  once the cache has caught up with etcd's current revision, as Kubernetes 1.31's
  consistent reads from cache: etcd is asked only for its revision (a count of no keys),
  and the cache's etcd watch for a progress notification if no change has moved it
  there. It reads etcd when the cache has not caught up within 3 s. A fenced kubelet
  that reconnects lists its pods this way; from etcd, every such list decoded every pod
  of the cluster. This is safe only where etcd sends a progress notification after
  every event up to its revision: older etcd may send it ahead of events still queued
  on the stream (etcd-io/etcd#15220), and a list from the cache could then miss a
  committed write. As Kubernetes requires, it is on only with etcd 3.4.31, 3.5.13 or
  later; on older etcd (Debian bookworm's is 3.4.23) consistent lists read etcd.
- Every other list reads etcd: one at an exact revision, a page of a consistent list,
  and the pages after a first.

`--watch-cache=false` (as kube-apiserver's flag) turns it off: every watch gets its own
etcd watch again.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import structlog

from client import errors
from client.kinds import Kind, Object
from client.timeouts import within
from master.apiserver import objects
from master.apiserver.cacher import Cacher
from master.apiserver.etcd import Etcd
from master.apiserver.listing import Page, encode_continue, list_objects, list_version
from master.apiserver.metrics import ApiServerMetrics
from master.apiserver.requests import read_namespace
from master.apiserver.selection import Selection
from master.apiserver.watching import watch_objects, watch_revision
from proto import api_pb2

log = structlog.get_logger("apiserver.watchcache")

READY_SECONDS = 10.0
"""How long a request waits for a new cache's first list before etcd serves it directly."""
CONSISTENT_READ_SECONDS = 3.0
"""How long a consistent list waits for the cache to reach etcd's revision before it reads
etcd instead (kube-apiserver's wait for a fresh cache is 3 s)."""
NOT_OLDER_THAN_SECONDS = 1.0
"""How long a list "not older than" a revision waits for the cache to reach it before it
reads etcd. Shorter than a consistent list's wait: on etcd whose progress notifications
cannot be trusted, a kind nobody writes reaches a newer revision only by this timeout,
and a quiet cluster's etcd answers such a list cheaply anyway."""


def progress_is_ordered(version: str) -> bool:
    """Whether etcd `version` orders its progress notifications after the events they
    cover (the releases Kubernetes requires for consistent reads from cache)."""
    try:
        major, minor, patch = (int(part) for part in version.split("-")[0].split(".")[:3])
    except ValueError:
        return False
    if (major, minor) == (3, 4):
        return patch >= 31
    if (major, minor) == (3, 5):
        return patch >= 13
    return (major, minor) > (3, 5)


class WatchCache:
    """The API server's cachers by resource, and the rules above."""

    def __init__(
        self,
        etcd: Etcd,
        *,
        progress_every: float = 0.0,
        enabled: bool = True,
        metrics: ApiServerMetrics | None = None,
    ) -> None:
        self.etcd = etcd
        self.metrics = metrics
        self.progress_every = progress_every
        self.enabled = enabled
        self.cachers: dict[str, Cacher] = {}
        self.consistent_reads: bool | None = None
        """Whether consistent lists may come from the cache (`progress_ordered`): None
        until etcd's version decides it, when the first cacher starts."""

    def _started(self, kind: Kind) -> Cacher:
        cacher = self.cachers.get(kind.resource)
        if cacher is None:
            cacher = self.cachers[kind.resource] = Cacher(
                self.etcd,
                kind,
                progress_every=self.progress_every,
                metrics=self.metrics,
                progress_ordered=self.progress_ordered,
            )
            cacher.start()
        return cacher

    async def cacher(self, kind: Kind) -> Cacher | None:
        """The kind's cacher once it has listed; None when disabled, stopping or not ready
        in time (the caller then reads etcd directly)."""
        if not self.enabled or self.etcd.closing:
            return None
        cacher = self._started(kind)
        if not cacher.ready.is_set():
            try:
                await within(cacher.ready.wait(), READY_SECONDS)
            except TimeoutError:
                return None
        return cacher

    def ready_now(self, kind: Kind) -> Cacher | None:
        """The kind's cacher if it has listed, without waiting; one is started for the
        next caller when there is none (admission reads this way: the first creates
        read etcd, later ones the cache)."""
        if not self.enabled or self.etcd.closing:
            return None
        cacher = self._started(kind)
        return cacher if cacher.ready.is_set() and not cacher.stopped else None

    def object_count(self, kind: Kind) -> int | None:
        """How many objects of `kind` its cache holds; None without a ready cacher
        (none is started: API Priority and Fairness reads this for every request)."""
        cacher = self._ready_cacher(kind)
        return None if cacher is None else len(cacher.store)

    def watcher_count(self, kind: Kind) -> int:
        """How many of `kind`'s cached watchers are offered every change: the pod
        watchers of one node, which its node index spares the others' changes, are not
        (nor are watches served by etcd directly); 0 without a ready cacher."""
        cacher = self._ready_cacher(kind)
        return 0 if cacher is None else len(cacher.unindexed)

    def _ready_cacher(self, kind: Kind) -> Cacher | None:
        cacher = self.cachers.get(kind.resource)
        if cacher is None or cacher.kind.group != kind.group:
            return None  # metrics.k8s.io's nodes and pods are not the stored ones
        if not cacher.ready.is_set() or cacher.stopped:
            return None
        return cacher

    async def close(self) -> None:
        for cacher in list(self.cachers.values()):
            await cacher.close()
        self.cachers.clear()

    async def watch_batches(
        self,
        kind: Kind,
        namespace: str,
        selection: Selection,
        *,
        resource_version: str = "",
        bookmark_every: float = 0.0,
    ) -> AsyncGenerator[list[api_pb2.WatchEvent], None]:
        """Every change after `resource_version` (empty or "0": from now), Gone if it is
        older than the window and compacted in etcd: each batch what the cache had queued
        for this watcher at once (watchbatch.py); from etcd, one event to a batch."""
        after = watch_revision(resource_version)
        ns = read_namespace(kind, namespace)
        bookmarks = bookmark_every > 0
        cacher = await self.cacher(kind)
        if cacher is not None and cacher.can_serve(after or cacher.revision):
            async for batch in _served(cacher, ns, selection, after or cacher.revision, bookmarks):
                yield batch
            return
        handed: list[tuple[Cacher, int]] = []

        def to_cache(passed: int) -> bool:
            ready = self.ready_now(kind)
            if ready is None or not ready.can_serve(passed):
                return False
            handed.append((ready, passed))
            return True

        direct = watch_objects(
            self.etcd,
            kind,
            namespace,
            selection,
            resource_version=resource_version,
            bookmark_every=bookmark_every,
            progress_ordered=await self.progress_ordered(),
            handover=to_cache,
        )
        async with aclosing(direct) as events:
            async for event in events:
                yield [event]
        for ready, passed in handed:
            log.info("watch handed from etcd to the cache", key=kind.resource, revision=passed)
            async for batch in _served(ready, ns, selection, passed, bookmarks):
                yield batch

    async def initial(
        self, kind: Kind, namespace: str, selection: Selection, resource_version: str
    ) -> tuple[list[Object], str]:
        """The objects a watch from "" or "0" starts with as ADDED events, and the revision
        its changes follow: the cache's state for "0", a consistent etcd list for ""."""
        # The cacher is made first, so that its window starts before the list's revision.
        cacher = await self.cacher(kind)
        if resource_version == "0" and cacher is not None and cacher.can_serve(cacher.revision):
            ns = read_namespace(kind, namespace)
            items, revision = cacher.snapshot(ns, selection)
            return items, str(revision)
        try:
            page = await list_objects(self.etcd, kind, namespace, selection)
        except errors.Unavailable:
            if self.etcd.closing:
                # Stopped while listing: say so, as a watch ended by the stop is told.
                raise errors.Unavailable(
                    "the API server is shutting down: watch another one"
                ) from None
            raise
        return page.items, str(page.resource_version)

    async def serve_list(
        self,
        kind: Kind,
        namespace: str,
        selection: Selection,
        *,
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
        match: str = "",
    ) -> Page:
        """One page of a List by the rules above; Timeout when asked for a revision newer
        than any the server has."""
        revision, at_least = list_version(resource_version, match, continue_token)
        page = None
        if not revision and not continue_token:
            if resource_version:
                page = await self.cached_list(
                    kind, namespace, selection, at_least=at_least, limit=limit
                )
            elif not limit:
                page = await self._consistent_list(kind, namespace, selection)
        if page is None:
            page = await list_objects(
                self.etcd,
                kind,
                namespace,
                selection,
                limit=limit,
                continue_token=continue_token,
                revision=revision,
            )
        if page.resource_version < at_least:
            raise errors.Timeout(
                f"Too large resource version: {at_least}, current: {page.resource_version}"
            )
        return page

    async def _consistent_list(
        self, kind: Kind, namespace: str, selection: Selection
    ) -> Page | None:
        """The whole selection from the cache once it holds every change etcd has
        committed so far; None (read etcd) when there is no ready cache or it lags."""
        # Asked first: on an etcd that rules it out, a list must not start a cacher (and
        # its etcd watch) for a kind nobody watches.
        if not await self.progress_ordered():
            return None
        cacher = self.ready_now(kind)
        if cacher is None:
            return None
        current = await self.etcd.revision()
        if not await cacher.wait_fresh(current, CONSISTENT_READ_SECONDS):
            log.info("consistent list reads etcd", key=kind.resource, revision=current)
            return None
        items, revision = cacher.snapshot(read_namespace(kind, namespace), selection)
        return Page(items=items, resource_version=revision)

    async def progress_ordered(self) -> bool:
        """Whether etcd sends a progress notification only after every event it covers:
        then consistent lists may come from the cache, and a progress notification moves
        a cacher's revision and a bookmark's on. Asked of etcd once."""
        if self.consistent_reads is None:
            try:
                version = await self.etcd.version()
            except errors.ApiError:
                return False  # asked again at the next list
            self.consistent_reads = progress_is_ordered(version)
            log.info(
                "consistent lists from the watch cache"
                if self.consistent_reads
                else "consistent lists from etcd: its progress notifications may run ahead",
                key=version,
            )
        return self.consistent_reads

    async def cached_list(
        self, kind: Kind, namespace: str, selection: Selection, *, at_least: int, limit: int = 0
    ) -> Page | None:
        """A list answered from the cache (resourceVersion "0", or not older than
        `at_least`), or None when the cache cannot answer it (the caller reads etcd).
        A page cut by `limit` continues from etcd at the cache's revision."""
        if limit < 0:
            return None
        cacher = await self.cacher(kind)
        if cacher is None:
            return None
        if cacher.revision < at_least and not await cacher.wait_fresh(
            at_least, NOT_OLDER_THAN_SECONDS
        ):
            return None
        ns = read_namespace(kind, namespace)
        items, revision = cacher.snapshot(ns, selection)
        page = Page(resource_version=revision)
        if limit and len(items) > limit:
            last = items[limit - 1]
            key = objects.object_key(kind, last.metadata.namespace, last.metadata.name)
            page.continue_token = encode_continue(key + b"\0", revision)
            page.remaining = len(items) - limit if selection.everything else 0
            items = items[:limit]
        page.items = items
        return page


async def _served(
    cacher: Cacher, namespace: str, selection: Selection, after: int, bookmarks: bool
) -> AsyncGenerator[list[api_pb2.WatchEvent], None]:
    """Every change after `after` from the cache's window and then as it comes."""
    watcher = cacher.watch(namespace, selection, after, bookmarks=bookmarks)
    try:
        async for batch in watcher.batches():
            yield batch
    finally:
        cacher.forget(watcher)

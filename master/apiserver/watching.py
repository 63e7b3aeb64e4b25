"""Watch: etcd's change stream of a collection, as Kubernetes' watch events.

This is the direct path, one etcd watch per API watch: the watch cache (cacher.py,
watchcache.py) serves most watches from memory and falls back to it for a revision older
than its window. Translating etcd's events is the same on both paths.

etcd sends every put and delete under the collection's key prefix in revision order,
each with the key's previous value. Selectors are judged on both sides of a change,
as Kubernetes does: an object that starts to match is ADDED, one that stops matching
is DELETED (with its last matching state), and DELETED always carries the object as it
was, stamped with the revision of its deletion.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

from aetcd import rpc

from client import errors
from client.kinds import Kind, Object
from master.apiserver import objects
from master.apiserver.etcd import Etcd, prefix_end
from master.apiserver.requests import read_namespace
from master.apiserver.selection import Selection
from proto import api_pb2


def _event(kind_: str, obj: Object) -> api_pb2.WatchEvent:
    return api_pb2.WatchEvent(
        type=kind_, object=obj.SerializeToString(), resource_version=obj.metadata.resource_version
    )


def selected_change(
    selection: Selection, prev: Object | None, cur: Object | None
) -> tuple[str, Object] | None:
    """What a watcher with `selection` hears of one change: its event type and object, or
    None. `cur` is None for a deletion; `prev` is None when the object is new (or its
    previous state is unknown), both stamped with the change's revision."""
    if cur is None:
        return ("DELETED", prev) if prev is not None and selection.matches(prev) else None
    now_matches = selection.matches(cur)
    was_matching = prev is not None and selection.matches(prev)
    if now_matches:
        return ("MODIFIED" if was_matching else "ADDED", cur)
    if was_matching:
        assert prev is not None
        return ("DELETED", prev)
    return None


def translate(kind: Kind, selection: Selection, event: Any) -> api_pb2.WatchEvent | None:
    """The API event for one etcd event, or None when the watcher did not ask for it."""
    revision = int(event.kv.mod_revision)
    prev = None
    if event.HasField("prev_kv") and event.prev_kv.value:
        prev = objects.decode_stored(kind, event.prev_kv.value, revision)
    if event.type == rpc.Event.DELETE:
        if prev is None:
            if not selection.everything:
                return None
            # History of the previous value is gone: name what was deleted from its key.
            prev = object_from_key(kind, event.kv.key, revision)
        decided = selected_change(selection, prev, None)
    else:
        cur = objects.decode_stored(kind, event.kv.value, revision)
        if prev is None and event.kv.version > 1:
            # The previous value was compacted away: an update of a known object all the same.
            return _event("MODIFIED", cur) if selection.matches(cur) else None
        decided = selected_change(selection, prev, cur)
    return _event(*decided) if decided is not None else None


def object_from_key(kind: Kind, key: bytes, revision: int) -> Object:
    obj = kind.new()
    parts = key.decode().split("/")
    obj.metadata.name = parts[-1]
    if kind.namespaced:
        obj.metadata.namespace = parts[-2]
    obj.metadata.resource_version = str(revision)
    return obj


def bookmark(kind: Kind, revision: int) -> api_pb2.WatchEvent:
    """A BOOKMARK: every change up to `revision` has been sent."""
    obj = kind.new()
    obj.metadata.resource_version = str(revision)
    return _event("BOOKMARK", obj)


def watch_revision(resource_version: str) -> int:
    """The revision a watch follows changes after (0: from now); Invalid if it is none."""
    try:
        after = int(resource_version) if resource_version else 0
    except ValueError:
        after = -1
    if after < 0:
        raise errors.Invalid(
            f"resourceVersion: Invalid value: {resource_version!r}: must be a non-negative integer"
        )
    return after


async def watch_objects(
    etcd: Etcd,
    kind: Kind,
    namespace: str,
    selection: Selection,
    *,
    resource_version: str = "",
    bookmark_every: float = 0.0,
    progress_ordered: bool = False,
    handover: Callable[[int], bool] | None = None,
) -> AsyncGenerator[api_pb2.WatchEvent, None]:
    """Every change after `resource_version` (empty or "0": from now); Gone if compacted.

    The raw stream; a watch from "" or "0" first gets WatchCache.initial. A bookmark
    carries etcd's progress revision only where `progress_ordered` (etcd sends progress
    after every event it covers; see cacher.py); elsewhere the last revision this watch
    has passed, and none before it has one.

    After each etcd response, `handover` is asked whether someone else can serve every
    change after the revision passed so far; if so the stream ends there. etcd sends a
    revision's events in one response, so a transaction is never split between the two."""
    after = watch_revision(resource_version)
    passed = after
    ns = read_namespace(kind, namespace)
    prefix = objects.collection_prefix(kind, ns)
    stream = etcd.watch(
        prefix,
        prefix_end(prefix),
        start_revision=after + 1 if after else 0,
        prev_kv=True,
        progress_every=bookmark_every,
    )
    async with aclosing(stream):
        async for resp in stream:
            if resp.created:
                continue
            if not resp.events:
                if progress_ordered:
                    passed = max(passed, int(resp.header.revision))
                if bookmark_every > 0 and passed:
                    yield bookmark(kind, passed)
            for event in resp.events:
                passed = int(event.kv.mod_revision)
                translated = translate(kind, selection, event)
                if translated is not None:
                    yield translated
            if handover is not None and passed and handover(passed):
                return

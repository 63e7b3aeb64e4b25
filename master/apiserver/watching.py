"""Watch: etcd's change stream of a collection, as Kubernetes' watch events.

A watch from no resourceVersion (or "0") starts, as in Kubernetes, with ADDED events for
what exists (`watch_from`); one from a revision gets every change after it.

etcd sends every put and delete under the collection's key prefix in revision order,
each with the key's previous value. Selectors are judged on both sides of a change,
as Kubernetes does: an object that starts to match is ADDED, one that stops matching
is DELETED (with its last matching state), and DELETED always carries the object as it
was, stamped with the revision of its deletion.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from aetcd import rpc

from client import errors
from client.kinds import Kind, Object
from master.apiserver import objects
from master.apiserver.etcd import Etcd, prefix_end
from master.apiserver.listing import list_objects
from master.apiserver.requests import effective_namespace
from master.apiserver.selection import Selection
from proto import api_pb2


def _event(kind_: str, obj: Object) -> api_pb2.WatchEvent:
    return api_pb2.WatchEvent(
        type=kind_, object=obj.SerializeToString(), resource_version=obj.metadata.resource_version
    )


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
            prev = _from_key(kind, event.kv.key, revision)
        return _event("DELETED", prev) if selection.matches(prev) else None
    cur = objects.decode_stored(kind, event.kv.value, revision)
    now_matches = selection.matches(cur)
    if prev is None and event.kv.version > 1:
        # The previous value was compacted away: an update of a known object all the same.
        return _event("MODIFIED", cur) if now_matches else None
    was_matching = prev is not None and selection.matches(prev)
    if now_matches:
        return _event("MODIFIED" if was_matching else "ADDED", cur)
    if was_matching:
        assert prev is not None
        return _event("DELETED", prev)
    return None


def _from_key(kind: Kind, key: bytes, revision: int) -> Object:
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


async def watch_objects(
    etcd: Etcd,
    kind: Kind,
    namespace: str,
    selection: Selection,
    *,
    resource_version: str = "",
    bookmark_every: float = 0.0,
) -> AsyncGenerator[api_pb2.WatchEvent, None]:
    """Every change after `resource_version` (empty or "0": from now); Gone if compacted.

    The raw stream; what clients get is `watch_from`, with Kubernetes' start."""
    try:
        after = int(resource_version) if resource_version else 0
    except ValueError:
        after = -1
    if after < 0:
        raise errors.Invalid(
            f"resourceVersion: Invalid value: {resource_version!r}: must be a non-negative integer"
        )
    ns = effective_namespace(kind, namespace) if namespace else ""
    prefix = objects.collection_prefix(kind, ns)
    stream = etcd.watch(
        prefix,
        prefix_end(prefix),
        start_revision=after + 1 if after else 0,
        prev_kv=True,
        progress_every=bookmark_every,
    )
    async for resp in stream:
        if resp.created:
            continue
        if not resp.events:
            if bookmark_every > 0:
                yield bookmark(kind, int(resp.header.revision))
            continue
        for event in resp.events:
            translated = translate(kind, selection, event)
            if translated is not None:
                yield translated


async def watch_from(
    etcd: Etcd,
    kind: Kind,
    namespace: str,
    selection: Selection,
    *,
    resource_version: str = "",
    bookmark_every: float = 0.0,
) -> AsyncGenerator[api_pb2.WatchEvent, None]:
    """A watch as Kubernetes starts one: from "" or "0", an ADDED event for every selected
    object that exists (one consistent list), then every change after that list; from a
    revision, every change after it."""
    if resource_version in ("", "0"):
        try:
            page = await list_objects(etcd, kind, namespace, selection)
        except errors.Unavailable:
            if etcd.closing:
                # Stopped while listing: say so, as a watch ended by the stop is told.
                raise errors.Unavailable(
                    "the API server is shutting down: watch another one"
                ) from None
            raise
        for obj in page.items:
            yield _event("ADDED", obj)
        resource_version = str(page.resource_version)
    events = watch_objects(
        etcd,
        kind,
        namespace,
        selection,
        resource_version=resource_version,
        bookmark_every=bookmark_every,
    )
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()

"""Following one kind in etcd from inside an API server: a list, then a watch from its
revision, started over from a fresh list when the watch fails (compacted, or etcd away).

The API server's own consumers (the authorizers' policy feed, API Priority and
Fairness' configuration) read etcd directly rather than through their server's API: they
must work before the server serves, and a request of theirs would be judged by the very
policy it is reading.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from client import errors
from client.kinds import Kind, decode
from master.apiserver.etcd import Etcd
from master.apiserver.listing import list_objects
from master.apiserver.selection import Selection
from master.apiserver.watching import watch_objects

log = structlog.get_logger("apiserver.following")

RETRY_SECONDS = 1.0


async def follow(
    etcd: Etcd,
    kind: Kind,
    listed: Callable[[list[Any]], None],
    changed: Callable[[str, Any], None],
) -> None:
    """Call `listed` with every object, then `changed` with each event's type and
    object; again from a fresh list after a failure. Runs until cancelled."""
    while True:
        try:
            page = await list_objects(etcd, kind, "", Selection())
            listed(list(page.items))
            events = watch_objects(
                etcd, kind, "", Selection(), resource_version=str(page.resource_version)
            )
            async for event in events:
                changed(event.type, decode(kind.resource, event.object))
        except errors.ApiError as e:
            log.warning("following restarts", key=kind.resource, error=e.message)
            await asyncio.sleep(RETRY_SECONDS)

"""Claiming dependents by selector, as Kubernetes' ControllerRefManager does.

A controller owns the objects whose controller reference names it. It adopts an orphan
that its selector matches (unless either is being deleted, or the owner was replaced
by a namesake with a new uid), and releases an object it owns that stopped matching.
Both are guarded updates: a concurrent change makes them skip, and the object's next
event brings the question back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import structlog

from client import kinds
from client.errors import Conflict, NotFound
from client.kinds import Object
from client.selectors import LabelSelector
from client.verbs import Updater
from master.controllers import controller_utils as cu

log = structlog.get_logger("controllers.claiming")

T = TypeVar("T", bound=Object)


def _copy(obj: T) -> T:
    fresh = type(obj)()
    fresh.CopyFrom(obj)  # type: ignore[arg-type]
    return fresh


async def claim(
    client: Updater,
    owner: Object,
    selector: LabelSelector,
    candidates: Sequence[T],
    fresh_owner: Callable[[str], Object | None],
) -> list[T]:
    """The candidates `owner` controls, after adopting matching orphans and releasing misfits.

    `fresh_owner(key)` is the owner as cached now; adoption is refused when it is being
    deleted or its uid changed.
    """
    uid = owner.metadata.uid
    owned: list[T] = []
    for obj in candidates:
        ref = cu.controller_ref(obj)
        matches = selector.matches(obj.metadata.labels)
        if ref is not None:
            if ref.uid != uid:
                continue
            if matches:
                owned.append(obj)
            elif not owner.metadata.deletion_timestamp:
                await _release(client, obj, uid)
            continue
        if not matches or obj.metadata.deletion_timestamp or owner.metadata.deletion_timestamp:
            continue
        current = fresh_owner(kinds.key(owner))
        if current is None or current.metadata.uid != uid or current.metadata.deletion_timestamp:
            continue
        adopted = await _adopt(client, obj, owner)
        if adopted is not None:
            owned.append(adopted)
    return owned


async def _adopt(client: Updater, obj: T, owner: Object) -> T | None:
    fresh = _copy(obj)
    fresh.metadata.owner_references.append(cu.owner_reference(owner))
    try:
        updated: T = await client.update(fresh)
    except (NotFound, Conflict):
        return None
    log.info("adopted", owner=cu.describe(owner), object=cu.describe(obj))
    return updated


async def _release(client: Updater, obj: Object, uid: str) -> None:
    fresh = _copy(obj)
    cu.remove_owner(fresh, uid)
    try:
        await client.update(fresh)
    except (NotFound, Conflict):
        return
    log.info("released", object=cu.describe(obj))

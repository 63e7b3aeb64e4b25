"""A controller's own writes, seen by its next sync before its informer has them.

Kubernetes' persistent-volume controller stores every object it writes back into its
own cache (`storeObjectUpdate`), so that the next sync works on the new version rather
than the one the watch has not yet replaced. The informers here are read-only to their
users, so this is an overlay beside one: the newest object the controller wrote, by
key, handed out instead of the cached one while the cache is older.

An entry lives only until the cache reaches its revision or the object leaves the
cache, so the overlay holds at most the writes still in flight through the watch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

from client import kinds
from client.kinds import Object

__all__ = ["OwnWrites"]

T = TypeVar("T", bound=Object)


class Cache(Protocol[T]):
    """The part of an informer the overlay reads."""

    def get(self, key: str, *, copy: bool = True) -> T | None: ...

    def list(self, *, copy: bool = True) -> list[T]: ...


def _revision(obj: Object) -> int:
    try:
        return int(obj.metadata.resource_version)
    except ValueError:
        return 0


class OwnWrites(Generic[T]):
    """The newer of the informer's object and the controller's last write of it."""

    def __init__(self, cache: Cache[T]) -> None:
        self.cache = cache
        self._written: dict[str, T] = {}

    def __len__(self) -> int:
        return len(self._written)

    def wrote(self, obj: T) -> None:
        """Remember `obj` as the API server returned it from a write."""
        key = kinds.key(obj)
        held = self._written.get(key)
        if held is None or _revision(obj) > _revision(held):
            self._written[key] = obj

    def get(self, key: str) -> T | None:
        """The object at `key`, never older than the controller's own write of it; the
        caller must not modify it (copy first)."""
        return self._fresher(key, self.cache.get(key, copy=False))

    def list(self) -> list[T]:
        """Every cached object, each replaced by the controller's newer write of it."""
        return list(self._each(self.cache.list(copy=False)))

    def _each(self, cached: Iterable[T]) -> Iterable[T]:
        for obj in cached:
            fresher = self._fresher(kinds.key(obj), obj)
            if fresher is not None:
                yield fresher

    def _fresher(self, key: str, cached: T | None) -> T | None:
        mine = self._written.get(key)
        if mine is None:
            return cached
        if cached is None or cached.metadata.uid != mine.metadata.uid:
            # Gone from the cache, or a new object of that name: the write is history.
            del self._written[key]
            return cached
        if _revision(cached) >= _revision(mine):
            del self._written[key]
            return cached
        return mine

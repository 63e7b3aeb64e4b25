"""Expectations: what a controller is still waiting to see in its cache after writing.

An informer cache lags the API. A ReplicaSet that just created three pods would, on
its next sync, still see the old count and create three more. So before creating or
deleting, the controller records what it expects to observe; the pod handlers tick the
expectations off as the events arrive, and `satisfied(key)` gates the next
create/delete. Expectations that are never met (a lost event) expire after a TTL, as in
Kubernetes' `ControllerExpectations`. Deletions are tracked by pod key, so a pod seen
twice (marked for deletion, then gone) counts once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class _Expected:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    at: float = field(default_factory=time.monotonic)


class Expectations:
    """Per-controller-key counts of pending creations and the pods pending deletion."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._by_key: dict[str, _Expected] = {}

    def satisfied(self, key: str) -> bool:
        """Whether the cache has caught up with our writes for `key` (or they expired)."""
        e = self._by_key.get(key)
        if e is None:
            return True
        if e.adds <= 0 and not e.deletes:
            return True
        return time.monotonic() - e.at > self.ttl

    def expect_creations(self, key: str, count: int) -> None:
        """We are about to create `count` objects for `key`."""
        self._by_key[key] = _Expected(adds=count)

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        """We are about to delete these pods for `key`."""
        self._by_key[key] = _Expected(deletes=set(pod_keys))

    def creation_observed(self, key: str) -> None:
        """One created object showed up in the cache (or its creation failed)."""
        e = self._by_key.get(key)
        if e is not None and e.adds > 0:
            e.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        """A pod we meant to delete is marked or gone (or its deletion failed)."""
        e = self._by_key.get(key)
        if e is not None:
            e.deletes.discard(pod_key)

    def pending(self, key: str) -> tuple[int, int]:
        """(creations, deletions) still expected for `key`."""
        e = self._by_key.get(key)
        return (0, 0) if e is None else (max(e.adds, 0), len(e.deletes))

    def forget(self, key: str) -> None:
        """The controller object is gone: drop its expectations."""
        self._by_key.pop(key, None)

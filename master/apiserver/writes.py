"""Guarded writes: every change to an object is one etcd transaction.

The transaction compares what the writer based its change on (the key's mod_revision,
or its absence on create) and, for leader-only writers, the fence: the election key
must still exist at the create-revision the leader won it with. When a compare fails
the same transaction reads the key and the fence back, so the caller learns why
without a second, racy read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from client import errors
from client.kinds import Kind
from master.apiserver.apierrors import conflict, not_found
from master.apiserver.etcd import Etcd, compare_create, op_get
from proto import api_pb2


@dataclass
class Outcome:
    """What a guarded write did."""

    succeeded: bool
    revision: int
    """The store's revision after the transaction (the write's, when it succeeded)."""
    current: Any | None = None
    """When it failed: the key's KeyValue as the transaction saw it (None if absent)."""


def has_fence(fence: api_pb2.Fence | None) -> bool:
    return fence is not None and bool(fence.key)


async def guarded(
    etcd: Etcd,
    key: bytes,
    compares: list[Any],
    success: list[Any],
    fence: api_pb2.Fence | None,
) -> Outcome:
    """Run `success` if every compare (and the fence) holds; FencedOut if the fence fails."""
    compares = list(compares)
    failure = [op_get(key)]
    if has_fence(fence):
        assert fence is not None
        compares.append(compare_create(fence.key.encode(), fence.revision))
        failure.append(op_get(fence.key.encode()))
    resp = await etcd.txn(compares, success, failure)
    revision = int(resp.header.revision)
    if resp.succeeded:
        return Outcome(True, revision)
    kvs = [r.response_range.kvs for r in resp.responses]
    if has_fence(fence):
        assert fence is not None
        held = kvs[1][0].create_revision if kvs[1] else 0
        if held != fence.revision:
            raise errors.FencedOut(
                f"fenced out: the lease {fence.key!r} is no longer held at revision "
                f"{fence.revision} (now {'absent' if not held else held}); "
                "this writer is not the leader any more"
            )
    return Outcome(False, revision, kvs[0][0] if kvs[0] else None)


def check_retry(outcome: Outcome, kind: Kind, name: str, expected: int) -> None:
    """After a failed write of an existing object (Update, Delete): NotFound once it is
    gone, Conflict when the writer named the resourceVersion it based its change on
    (another try could not honour it); returns when a retry from a fresh read may succeed."""
    if outcome.current is None:
        raise not_found(kind, name)
    if expected:
        raise conflict(kind, name)

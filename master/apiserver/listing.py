"""List: one consistent snapshot of a collection, a page at a time.

The first page is read at the store's current revision and every later page at that
same revision, so a paged list is the collection at one instant even while it changes.
The continue token carries the next key and that revision; once compaction has
dropped the revision, the token is Gone and the client starts over.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from client import errors
from client.kinds import Kind, Object
from master.apiserver import encryption, objects
from master.apiserver.etcd import Etcd, prefix_end
from master.apiserver.requests import read_namespace
from master.apiserver.selection import Selection

MAX_PAGES = 100_000
"""Bounds the loop that fills a selective page chunk by chunk."""
CHUNK = 500
"""Keys read per etcd request while filling a page through selectors."""


@dataclass
class Page:
    items: list[Object] = field(default_factory=list)
    resource_version: int = 0
    continue_token: str = ""
    remaining: int = 0


def encode_continue(next_key: bytes, revision: int) -> str:
    """An opaque token naming where the next page starts and the list's revision."""
    raw = json.dumps({"k": base64.b64encode(next_key).decode(), "rv": revision})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_continue(token: str, prefix: bytes, end: bytes) -> tuple[bytes, int]:
    """The next key and revision of a token; Invalid if it is not one of ours for this list."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token.encode()))
        key, revision = base64.b64decode(raw["k"]), int(raw["rv"])
    except (ValueError, KeyError, TypeError):
        raise errors.Invalid(
            f"continue: Invalid value: {token!r}: not a valid continue token"
        ) from None
    if not prefix <= key < end or revision <= 0:
        raise errors.Invalid(
            f"continue: Invalid value: {token!r}: the token belongs to another list"
        )
    return key, revision


def list_version(version: str, match: str, continue_token: str) -> tuple[int, int]:
    """The revision a list reads at (0: the newest) and the least revision it may answer
    with, from resourceVersion and resourceVersionMatch as Kubernetes reads them: Exact
    reads at that revision; NotOlderThan (or a bare resourceVersion) any revision since.
    Both fronts check them here, so they refuse alike."""
    if match not in ("", "Exact", "NotOlderThan"):
        raise errors.Invalid(
            f'resourceVersionMatch: Unsupported value: "{match}": supported values: '
            '"Exact", "NotOlderThan", ""'
        )
    if match and not version:
        raise errors.Invalid(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
            "resourceVersion is provided"
        )
    if version and not (version.isascii() and version.isdigit()):
        raise errors.Invalid(f'resourceVersion: Invalid value: "{version}"')
    if match == "Exact":
        if version == "0":
            raise errors.Invalid(
                'resourceVersionMatch: Forbidden: resourceVersionMatch "Exact" is forbidden '
                'for resourceVersion "0"'
            )
        if continue_token:
            raise errors.Invalid(
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when "
                "continue is provided"
            )
        return int(version), 0
    return 0, int(version or 0)


async def list_objects(
    etcd: Etcd,
    kind: Kind,
    namespace: str,
    selection: Selection,
    *,
    limit: int = 0,
    continue_token: str = "",
    revision: int = 0,
) -> Page:
    """One page of the collection (all of it when limit is 0), at `revision` if given
    (Gone if it is compacted), else at the newest."""
    if limit < 0:
        raise errors.Invalid(f"limit: Invalid value: {limit}: must be >= 0")
    ns = read_namespace(kind, namespace)
    prefix = objects.collection_prefix(kind, ns)
    end = prefix_end(prefix)
    start = prefix
    if continue_token:
        start, revision = decode_continue(continue_token, prefix, end)
    page = Page()
    # Without selectors a page is exactly `limit` keys; with them, read chunks until
    # `limit` objects matched.
    chunk = limit if selection.everything else max(limit, CHUNK) if limit else 0
    needles = () if encryption.current().encrypts(kind.resource) else selection.needles()
    for _ in range(MAX_PAGES):
        resp = await etcd.range(start, end, limit=chunk, revision=revision)
        if not revision:
            revision = int(resp.header.revision)
        kvs = list(resp.kvs)
        for i, kv in enumerate(kvs):
            if needles and not all(needle in kv.value for needle in needles):
                continue
            obj = objects.decode_stored(kind, kv.value, kv.mod_revision)
            if not selection.matches(obj):
                continue
            page.items.append(obj)
            if limit and len(page.items) == limit:
                if i + 1 < len(kvs) or resp.more:
                    page.continue_token = encode_continue(kv.key + b"\0", revision)
                    if selection.everything:
                        page.remaining = int(resp.count) - (i + 1)
                page.resource_version = revision
                return page
        if not resp.more or not kvs:
            break
        start = kvs[-1].key + b"\0"
    page.resource_version = revision
    return page

"""What an ordinary request passes before it runs, on both front-ends.

API Priority and Fairness classifies requests by their user, so it runs where the server
knows its users: with authentication on (every cluster `tug up` makes). Without it (the
insecure mode of tests and benchmarks) there is no user to classify by, and the server
keeps the single `--max-requests-inflight` cap with its Lease lane (inflight.py), as
kube-apiserver keeps its max-in-flight filter when APF is turned off; kube-apiserver's
old insecure port bypassed both.

Only resource requests pass here: discovery, health and metrics paths take no seat. A
watch holds its seats while it reads its initial list (a watch from "" costs a list) and
gives them back through `initialised`.

The gate also hands the dispatcher what a request's work estimate reads (estimate.py):
the front-end's list options, and the watch cache's counts for the request's kind, read
here as the request arrives (plain numbers: the dispatcher never reaches into the
cache). A server without a watch cache gives unknown counts, which cost the minimum.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Protocol

from client.kinds import Kind
from master.apiserver.access import Request as AccessRequest
from master.apiserver.auth.user import UserInfo
from master.apiserver.flowcontrol.dispatcher import Admission, Dispatcher
from master.apiserver.flowcontrol.estimate import (
    NO_OPTIONS,
    UNKNOWN_COUNTS,
    ListOptions,
    StoreCounts,
)
from master.apiserver.flowcontrol.model import RequestDigest
from master.apiserver.inflight import LONG_RUNNING, InflightLimiter


def request_digest(request: AccessRequest, user: UserInfo) -> RequestDigest:
    """What classification reads of a request and its user."""
    kind = request.kind
    return RequestDigest(
        user=user.name,
        groups=user.groups,
        verb=request.verb,
        is_resource_request=kind is not None,
        api_group=kind.api_version.rpartition("/")[0] if kind is not None else "",
        api_version=kind.api_version.rpartition("/")[2] if kind is not None else "",
        resource=kind.resource if kind is not None else "",
        subresource=request.subresource,
        namespace=request.namespace,
        name=request.name,
        path=request.path if kind is None else "",
        long_running=request.verb in LONG_RUNNING,
    )


class Counted(Protocol):
    """Where the counts come from: the API server's watch cache (watchcache.py)."""

    def object_count(self, kind: Kind) -> int | None: ...

    def watcher_count(self, kind: Kind) -> int: ...

    @property
    def consistent_reads(self) -> bool | None:
        """Whether consistent lists are answered from the cache (None: not known yet)."""


def store_counts(store: Counted | None, kind: Kind | None) -> StoreCounts:
    """The store's counts for `kind`; unknown without a store or a kind."""
    if store is None or kind is None:
        return UNKNOWN_COUNTS
    return StoreCounts(
        objects=store.object_count(kind),
        watchers=store.watcher_count(kind),
        consistent_lists_cached=store.consistent_reads is True,
    )


class RequestGate:
    """APF's dispatcher when there is one and the user is known, else the inflight cap."""

    def __init__(
        self,
        inflight: InflightLimiter,
        dispatcher: Dispatcher | None = None,
        store: Counted | None = None,
    ) -> None:
        self.inflight = inflight
        self.dispatcher = dispatcher
        self.store = store

    @asynccontextmanager
    async def admit(
        self,
        verb: str,
        resource: str,
        request: AccessRequest | None,
        user: UserInfo | None,
        classified: Callable[[Admission], None] | None = None,
        *,
        options: ListOptions = NO_OPTIONS,
    ) -> AsyncIterator[Admission | None]:
        """Run the request inside; yields APF's classification (None under the cap).
        TooManyRequests when there is no room. `request` and `user` are None where the
        server does not authenticate. `classified` is told the classification before
        the request waits (the HTTP layer's headers), as Kubernetes names it even on a
        refusal. `options` are a list's or a watch's, for its work estimate."""
        if self.dispatcher is None or request is None or user is None:
            with self.inflight.admit(verb, resource):
                yield None
            return
        async with self.dispatcher.admit(
            request_digest(request, user),
            classified,
            options=options,
            counts=store_counts(self.store, request.kind),
        ) as admitted:
            token = _ADMITTED.set(admitted)
            try:
                yield admitted
            finally:
                _ADMITTED.reset(token)


_ADMITTED: ContextVar[Admission | None] = ContextVar("tugboat_flowcontrol_admitted", default=None)
"""The running request's admission, for `initialised`, deep in the watch code."""


def initialised() -> None:
    """A watch has read its initial list: give its seat back, as kube-apiserver does once
    a watch is initialised; the stream goes on without one. Nothing where the request
    holds no seat (the inflight cap, or flow control off)."""
    admitted = _ADMITTED.get()
    if admitted is not None:
        admitted.release_seat()

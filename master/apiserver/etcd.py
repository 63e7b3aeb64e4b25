"""etcd access for the API server: one connection over a list of endpoints, with fail-over.

aetcd opens the channel; requests are built as etcd's own protobufs because the API
server needs what aetcd's helpers leave out: ranges read at a past revision, limits and
counts, compares over a key range, and one watch stream per API watch (so a slow or
vanished API client only ever holds up its own stream). Errors leave this module as
`client.errors` classes: a compacted revision is `Gone`, no reachable member is
`Unavailable`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

import aetcd
import grpc
import structlog
from aetcd import rpc

from client import errors
from client.timeouts import within
from client.tls import ClientCredentials
from master.apiserver.etcdreader import ThreadedWatch
from master.etcdclient import etcd_client

log = structlog.get_logger("apiserver.etcd")

Observer = Callable[[str, float], None]
"""Called with (operation, seconds) after every etcd request."""


def prefix_end(prefix: bytes) -> bytes:
    """The range end that covers every key starting with `prefix`."""
    return bytes(aetcd.utils.prefix_range_end(prefix))


def compare_version(key: bytes, op: str, version: int, range_end: bytes = b"") -> Any:
    """`version(key) <op> version`; over [key, range_end) when range_end is given."""
    return rpc.Compare(
        key=key,
        range_end=range_end,
        target=rpc.Compare.VERSION,
        result=_RESULTS[op],
        version=version,
    )


def compare_mod(key: bytes, revision: int) -> Any:
    """`mod_revision(key) == revision`: the key is still as the caller read it."""
    return rpc.Compare(
        key=key, target=rpc.Compare.MOD, result=rpc.Compare.EQUAL, mod_revision=revision
    )


def compare_mod_below(key: bytes, revision: int, range_end: bytes) -> Any:
    """Every key in [key, range_end) last changed before `revision` (true for none)."""
    return rpc.Compare(
        key=key,
        range_end=range_end,
        target=rpc.Compare.MOD,
        result=rpc.Compare.LESS,
        mod_revision=revision,
    )


def compare_create(key: bytes, revision: int) -> Any:
    """`create_revision(key) == revision`: the fence of a leader-only write."""
    return rpc.Compare(
        key=key, target=rpc.Compare.CREATE, result=rpc.Compare.EQUAL, create_revision=revision
    )


def op_put(key: bytes, value: bytes) -> Any:
    return rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value))


def op_delete(key: bytes) -> Any:
    return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key, prev_kv=True))


def op_get(key: bytes) -> Any:
    return rpc.RequestOp(request_range=rpc.RangeRequest(key=key))


_RESULTS = {
    "==": rpc.Compare.EQUAL,
    "!=": rpc.Compare.NOT_EQUAL,
    "<": rpc.Compare.LESS,
    ">": rpc.Compare.GREATER,
}

# Pings while calls (watches) are open notice a member that vanished without closing
# the connection; etcd refuses pings more often than every 5 s or on idle connections.
_CHANNEL_OPTIONS = {
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.keepalive_permit_without_calls": 0,
    # A range of a whole collection comes back in one message: gRPC's 4 MiB default
    # refused a list of 5,000 pods. kube-apiserver's etcd client allows MaxInt32.
    "grpc.max_receive_message_length": 2**31 - 1,
}

# gRPC codes after which another member may do better.
_FAIL_OVER = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class Etcd:
    """The API server's etcd: the first healthy endpoint, and the next one on failure."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout: float = 5.0,
        observe: Observer | None = None,
        tls: ClientCredentials | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self.endpoints = list(endpoints)
        self.timeout = timeout
        self._observe = observe
        self._tls = tls
        self._index = 0
        self._client: Any = None
        self._lock = asyncio.Lock()
        self._watches: set[Any] = set()
        self._closing = False
        self._retired: dict[Any, asyncio.Task[None]] = {}

    @property
    def endpoint(self) -> str:
        """The endpoint in use now."""
        return self.endpoints[self._index]

    @property
    def tls(self) -> ClientCredentials | None:
        """etcd's CA and this server's client certificate (None: plaintext)."""
        return self._tls

    @property
    def closing(self) -> bool:
        """Whether watches are being ended (the server is stopping)."""
        return self._closing

    def end_watches(self) -> None:
        """End every open watch with Unavailable, so its client resumes on another server."""
        self._closing = True
        for call in list(self._watches):
            call.cancel()

    async def close(self) -> None:
        """End the watches and close the connection in use."""
        self.end_watches()
        client, self._client = self._client, None
        if client is not None:
            await client.close()
        for retired, closer in list(self._retired.items()):
            closer.cancel()
            await retired.close()
        self._retired.clear()

    async def _connected(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    client = etcd_client(self.endpoint, self._tls, options=_CHANNEL_OPTIONS)
                    await client.connect()
                    self._client = client
        return self._client

    async def _fail_over(self, failed: Any, error: grpc.RpcError) -> None:
        async with self._lock:
            if self._client is not failed:
                return  # another request moved on already
            old = self.endpoint
            self._index = (self._index + 1) % len(self.endpoints)
            self._client = None
            log.warning("etcd failing over", key=old, next=self.endpoint, error=str(error))
        # Requests still in flight on the old connection fail over by themselves; closing
        # it under them would turn their answer into a cancellation.
        self._retired[failed] = asyncio.create_task(self._close_later(failed))

    async def _close_later(self, client: Any) -> None:
        await asyncio.sleep(2 * self.timeout)
        self._retired.pop(client, None)
        await client.close()
        for call in list(self._watches):
            if isinstance(call, ThreadedWatch) and call.connection is client:
                call.cancel()

    async def _call(self, operation: str, stub: str, method: str, request: Any) -> Any:
        """One unary etcd request, tried on each endpoint in turn while they are unavailable.

        Two rounds with a short pause between tries ride out a leader election (about
        half a second on our clusters); after that the request is Unavailable.
        """
        last: grpc.RpcError | None = None
        attempts = 2 * len(self.endpoints) + 1
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
            client = await self._connected()
            started = time.perf_counter()
            try:
                return await getattr(getattr(client, stub), method)(request, timeout=self.timeout)
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.OUT_OF_RANGE:
                    raise errors.Gone(f"etcd: {e.details()}") from None
                too_large = e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                if too_large or "too large" in (e.details() or ""):
                    # etcd's own request limit (--max-request-bytes, 1.5 MiB by default).
                    raise errors.TooLarge(
                        f"the object is too large for etcd to store: {e.details()}"
                    ) from None
                if e.code() not in _FAIL_OVER:
                    raise errors.ApiError(f"etcd {operation} failed: {e.details()}") from e
                last = e
                await self._fail_over(client, e)
            finally:
                if self._observe is not None:
                    self._observe(operation, time.perf_counter() - started)
        raise errors.Unavailable(
            f"etcd unavailable at {', '.join(self.endpoints)}: "
            f"{last.details() if isinstance(last, grpc.aio.AioRpcError) else last}"
        )

    async def get(self, key: bytes) -> tuple[Any | None, int]:
        """The key's KeyValue (None if absent) and the store's revision."""
        resp = await self._call("get", "kvstub", "Range", rpc.RangeRequest(key=key))
        return (resp.kvs[0] if resp.kvs else None), int(resp.header.revision)

    async def range(
        self,
        start: bytes,
        end: bytes,
        *,
        limit: int = 0,
        revision: int = 0,
        count_only: bool = False,
    ) -> Any:
        """A RangeResponse for [start, end), at `revision` (0: now), sorted by key."""
        request = rpc.RangeRequest(
            key=start, range_end=end, limit=limit, revision=revision, count_only=count_only
        )
        return await self._call("range", "kvstub", "Range", request)

    async def txn(self, compare: list[Any], success: list[Any], failure: list[Any]) -> Any:
        """A TxnResponse: `succeeded` and the responses of the branch taken."""
        request = rpc.TxnRequest(compare=compare, success=success, failure=failure)
        return await self._call("txn", "kvstub", "Txn", request)

    async def read_all(self, ranges: list[tuple[bytes, bytes]]) -> list[Any]:
        """RangeResponses for several [key, end) ranges (end b"": that one key), read in one
        transaction: one round trip, and every answer at the same revision."""
        reads = [
            rpc.RequestOp(request_range=rpc.RangeRequest(key=key, range_end=end))
            for key, end in ranges
        ]
        resp = await self._call("read", "kvstub", "Txn", rpc.TxnRequest(success=reads))
        return [r.response_range for r in resp.responses]

    async def revision(self) -> int:
        """The store's current revision."""
        resp = await self.range(b"\0", b"\0", limit=1, count_only=True)
        return int(resp.header.revision)

    async def version(self) -> str:
        """The etcd version of the member this server talks to ("3.4.23")."""
        resp = await self._call("status", "maintenancestub", "Status", rpc.StatusRequest())
        return str(resp.version)

    async def compact(self, revision: int) -> None:
        """Drop history before `revision`; an already compacted revision is not an error."""
        try:
            request = rpc.CompactionRequest(revision=revision)
            await self._call("compact", "kvstub", "Compact", request)
        except errors.Gone:
            pass

    async def watch(
        self,
        key: bytes,
        end: bytes,
        *,
        start_revision: int = 0,
        prev_kv: bool = True,
        progress_every: float = 0.0,
        progress_wanted: asyncio.Event | None = None,
        threaded: bool = False,
    ) -> AsyncGenerator[Any, None]:
        """WatchResponses for [key, end) from `start_revision` (0: now), on a stream of its own.

        Raises Gone when the revision is compacted. With `progress_every` > 0, asks etcd
        for a progress notification (a response without events) that often, and also
        whenever `progress_wanted` is set (a reader waiting for the stream to reach a
        revision: the consistent list from the watch cache). `threaded` reads the stream
        in a thread of its own, at etcd's pace however busy the loop (etcdreader.py).
        """
        if self._closing:
            raise errors.Unavailable("the API server is shutting down: watch another one")
        client = await self._connected()
        create = rpc.WatchCreateRequest(
            key=key, range_end=end, start_revision=start_revision, prev_kv=prev_kv
        )
        call: Any
        if threaded:
            call = ThreadedWatch(self.endpoint, self._tls, _CHANNEL_OPTIONS, create)
            call.connection = client  # retired with it (`_close_later`), as the others are
            responses = call.responses()
        else:
            call = rpc.WatchStub(client.channel).Watch()
            responses = call
        self._watches.add(call)
        progress: asyncio.Task[None] | None = None
        try:
            if not threaded:
                await call.write(rpc.WatchRequest(create_request=create))
            if progress_every > 0 or progress_wanted is not None:
                progress = asyncio.create_task(
                    _request_progress(call, progress_every, progress_wanted)
                )
            async for resp in responses:
                if resp.compact_revision:
                    raise errors.Gone(
                        f"too old resource version: {start_revision - 1} "
                        f"(compacted up to {resp.compact_revision})"
                    )
                if resp.canceled:
                    raise errors.Unavailable(f"etcd cancelled the watch: {resp.cancel_reason}")
                yield resp
            raise errors.Unavailable("etcd ended the watch stream")
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if call.cancelled() and (self._closing or (task is not None and not task.cancelling())):
                # Our etcd call was cancelled, not our task: the server is shutting down, or
                # the connection was retired after a fail-over (`_close_later`). Either way
                # the watcher must hear Unavailable and resume elsewhere from its last
                # revision; swallowing it here left the watcher on a silent stream.
                raise errors.Unavailable(
                    "the API server is shutting down: watch another one"
                    if self._closing
                    else "the etcd connection of this watch was retired: watch again"
                ) from None
            raise
        except grpc.RpcError as e:
            # Both clients' errors are calls too: code() and details().
            failed: Any = e
            if failed.code() in _FAIL_OVER:
                await self._fail_over(client, e)
                raise errors.Unavailable(f"etcd watch broke: {failed.details()}") from None
            raise errors.ApiError(f"etcd watch failed: {failed.details()}") from e
        finally:
            self._watches.discard(call)
            if progress is not None:
                progress.cancel()
            call.cancel()


async def _request_progress(call: Any, every: float, wanted: asyncio.Event | None) -> None:
    """Ask for a progress notification every `every` seconds (0: never on a timer) and
    each time `wanted` is set, while the stream is open."""
    wanted = wanted or asyncio.Event()
    try:
        while not call.done():
            try:
                await within(wanted.wait(), every if every > 0 else None)
            except TimeoutError:
                pass
            wanted.clear()
            await call.write(rpc.WatchRequest(progress_request=rpc.WatchProgressRequest()))
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        pass  # the stream ended; the watch loop reports why

"""One etcd watch stream read by a thread of its own, for the watch caches.

etcd sends a watcher that keeps up one response per revision, and gRPC's asyncio client
takes a stream's next message only after the last went through the event loop. A busy
loop then reads a few hundred responses a second from a stream that brings more: at
5,000 simulated nodes the Leases' cache fell minutes behind etcd (500 renewals a second,
read at 80-300 a second), the controller manager heard of renewals a minute late, and
marked healthy nodes NotReady. etcd itself only batches a watcher it has already found
too slow to take its responses.

So a cache's stream is read by gRPC's blocking client in a thread, at etcd's pace, and
everything read since the loop last looked is handed over at once: the loop wakes once
for many responses, and handles them in one turn. Only the watch caches use it: one
thread per kind per API server. Per-request watches stay on the loop.
"""

from __future__ import annotations

import asyncio
import collections
import queue
import threading
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import grpc
from aetcd import rpc

from client.tls import ClientCredentials

__all__ = ["ThreadedWatch"]


class ThreadedWatch:
    """An etcd Watch call on a blocking channel of its own, read by a thread.

    Quacks like the asyncio call where etcd.py needs it: `cancel`, `cancelled`, `done`,
    and `write` (a progress request)."""

    def __init__(
        self,
        endpoint: str,
        tls: ClientCredentials | None,
        options: dict[str, Any],
        create: Any,
    ) -> None:
        if not endpoint:
            raise ValueError("an etcd endpoint is needed")
        opts = list(options.items())
        self._channel = (
            grpc.secure_channel(endpoint, tls.channel(), options=opts)
            if tls is not None
            else grpc.insecure_channel(endpoint, options=opts)
        )
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._requests.put(rpc.WatchRequest(create_request=create))
        self._call: Any = rpc.WatchStub(self._channel).Watch(self._outgoing())
        self._read: collections.deque[Any] = collections.deque()
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._woken = threading.Event()
        """Set while a wake-up is on its way to the loop: one per batch, not per response."""
        self.connection: Any = None
        """The asyncio connection of the same member, whose retirement ends this watch."""
        self._error: grpc.RpcError | None = None
        self._ended = False
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="etcd watch", daemon=True)
        self._thread.start()

    def _outgoing(self) -> Iterator[Any]:
        while True:
            request = self._requests.get()
            if request is None:
                return
            yield request

    def _run(self) -> None:
        try:
            for response in self._call:
                self._read.append(response)
                self._poke()
        except grpc.RpcError as e:
            self._error = e
        finally:
            self._ended = True
            self._poke(always=True)

    def _poke(self, *, always: bool = False) -> None:
        if always or not self._woken.is_set():
            self._woken.set()
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:
                pass  # the loop is closed: nobody is reading any more

    async def responses(self) -> AsyncGenerator[Any, None]:
        """Every response in order; then the call's error, CancelledError if cancelled
        here, or the end of the stream."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._woken.clear()
            while self._read:
                yield self._read.popleft()
            if self._ended and not self._read:
                if self._cancelled:
                    raise asyncio.CancelledError
                if self._error is not None:
                    raise self._error
                return

    async def write(self, request: Any) -> None:
        if self._ended:
            raise asyncio.InvalidStateError("the watch stream has ended")
        self._requests.put(request)

    def done(self) -> bool:
        return self._ended

    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        if not self._ended:
            self._cancelled = True
        self._call.cancel()
        self._requests.put(None)
        self._channel.close()

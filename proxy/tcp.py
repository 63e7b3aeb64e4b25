"""The TCP data path: accept, pick an endpoint, connect, then copy both ways.

Built for speed with asyncio's low-level API rather than streams: each socket has a
`BufferedProtocol` that reads straight into a buffer of its own and hands the filled
slice to the other socket's transport, so the only per-chunk work is that one write (and
a byte count kept in a plain int, reported to Prometheus when the connection ends or when
the proxy flushes). Flow control is the transports' own: when a side's write buffer
passes its high-water mark, reading from the other side pauses until it drains. A write
the kernel did not take at once keeps a reference to the buffer it was given, so that
buffer is then replaced, never overwritten.

A side's buffer starts at 16 KiB and becomes 256 KiB the first time a read fills it.
Most proxied connections are short requests and answers (a connection per HTTP request
is common), and a 256 KiB buffer per side up front cost about a sixth of the proxy's CPU
at a few thousand connections a second: zeroing memory that such a connection never
touches. A bulk flow fills the small buffer at once and reads in large chunks after.

Half-closes are forwarded (EOF on one side becomes write_eof on the other); an error or a
close on one side closes the other. An endpoint that refuses or does not answer within
the connect timeout is counted in `tugboat_proxy_endpoint_errors_total` and the next one
is tried; when none is left the client's connection is reset (SO_LINGER 0, then close),
never left hanging.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any, cast

import structlog

from proxy.served import ServedPort
from proxy.table import Backend

__all__ = ["TcpListener", "reset"]

log = structlog.get_logger("proxy.tcp")

FIRST_BUFFER_SIZE = 16 * 1024
"""A side's buffer until a read fills it."""
BUFFER_SIZE = 256 * 1024
"""A side's buffer once a read has filled the first: the flow is bulk."""
HIGH_WATER = 1024 * 1024
"""Bytes queued for a slow side before the other side stops being read."""
MAX_ATTEMPTS = 3
"""Endpoints tried for one connection before it is reset."""
_LINGER_ZERO = struct.pack("ii", 1, 0)


def reset(transport: asyncio.BaseTransport) -> None:
    """Close with an RST rather than a FIN: the client learns at once that nothing serves."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        except OSError:
            pass
    abort = getattr(transport, "abort", None)  # uvloop's transports are no WriteTransport
    if abort is not None:
        abort()
    else:
        transport.close()


class _Side(asyncio.BufferedProtocol):
    """One socket of a proxied connection; what it reads goes to its peer's transport."""

    def __init__(self, conn: _Connection) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.count = 0
        self.eof = False
        self.early: list[bytes] = []
        """Data read before the peer existed, written to it first."""
        self._buffer = bytearray(FIRST_BUFFER_SIZE)
        self._view = memoryview(self._buffer)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports only quack like asyncio.Transport.
        self.transport = transport = cast(asyncio.Transport, transport)
        transport.set_write_buffer_limits(high=HIGH_WATER)
        # TCP_NODELAY is not set here: uvloop and asyncio both set it on every TCP
        # transport, and asking again cost a socket object and a system call per side.

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            # Before the endpoint is connected: uvloop may deliver data despite
            # pause_reading() in connection_made. Keep it, and really pause now.
            self.early.append(bytes(self._view[:nbytes]))
            if self.transport is not None:
                self.transport.pause_reading()
            return
        out = peer.transport
        out.write(self._view[:nbytes])
        self.count += nbytes
        size = len(self._buffer)
        grow = nbytes == size < BUFFER_SIZE
        if grow or out.get_write_buffer_size():
            # A pending write still points into our buffer, or the flow is bulk: a fresh one.
            self._buffer = bytearray(BUFFER_SIZE if grow else size)
            self._view = memoryview(self._buffer)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None:
            return True  # not connected yet: the EOF is passed on once it is
        if peer.transport is None or not peer.transport.can_write_eof():
            return False
        peer.transport.write_eof()
        if peer.eof:
            # Both directions are finished: nothing more can flow.
            peer.transport.close()
            return False
        return True  # keep our own write side open: a half-close

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.side_lost(self, exc)


class _Connection:
    """A client connection and, once connected, its endpoint connection."""

    def __init__(self, port: ServedPort, listener: TcpListener) -> None:
        self.port = port
        self.listener = listener
        self.client: _Side = _Accepted(self)
        self.upstream: _Side | None = None
        self.backend: Backend | None = None
        self._flushed_in = 0
        self._flushed_out = 0
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        transport = self.client.transport
        assert transport is not None
        transport.pause_reading()
        peer = transport.get_extra_info("peername")
        client_ip = str(peer[0]) if peer else ""
        self.port.connections.inc()
        self.port.active.inc()
        self.port.flows.add(self)
        self._task = asyncio.get_running_loop().create_task(self._connect(client_ip))

    async def _connect(self, client_ip: str) -> None:
        loop = asyncio.get_running_loop()
        tried: set[Backend] = set()
        for _ in range(MAX_ATTEMPTS):
            backend = self.port.balancer.pick(client_ip, frozenset(tried))
            if backend is None or self._closed:
                break
            tried.add(backend)
            upstream = _Side(self)
            try:
                async with asyncio.timeout(self.port.connect_timeout):
                    await loop.create_connection(
                        lambda side=upstream: side, backend.ip, backend.port  # type: ignore[misc]
                    )
            except (OSError, TimeoutError) as e:
                self.port.errors.inc()
                log.warning(
                    "endpoint failed",
                    service=self.port.key,
                    endpoint=f"{backend.ip}:{backend.port}",
                    error=str(e) or type(e).__name__,
                )
                continue
            if self._closed:
                if upstream.transport is not None:
                    upstream.transport.close()
                return
            self.backend = backend
            self.port.balancer.opened(backend)
            self.upstream = upstream
            upstream.peer, self.client.peer = self.client, upstream
            assert self.client.transport is not None and upstream.transport is not None
            for data in self.client.early:
                upstream.transport.write(data)
                self.client.count += len(data)
            self.client.early.clear()
            if self.client.eof:
                upstream.transport.write_eof()
            self.client.transport.resume_reading()
            return
        if self.client.transport is not None and not self._closed:
            reset(self.client.transport)

    def side_lost(self, side: _Side, exc: Exception | None) -> None:
        other = self.upstream if side is self.client else self.client
        if other is not None and other.transport is not None and not other.transport.is_closing():
            if exc is not None:
                reset(other.transport)
            else:
                other.transport.close()
        if not self._closed:
            self._closed = True
            self.port.active.dec()
            self.port.flows.discard(self)
            self.listener.connections.discard(self)
            if self.backend is not None:
                self.port.balancer.closed(self.backend)
        self.flush_counts()

    def flush_counts(self) -> None:
        """Report the bytes copied since the last flush."""
        sent_in = self.client.count - self._flushed_in
        sent_out = (self.upstream.count if self.upstream else 0) - self._flushed_out
        if sent_in:
            self.port.bytes_in.inc(sent_in)
            self._flushed_in += sent_in
        if sent_out:
            self.port.bytes_out.inc(sent_out)
            self._flushed_out += sent_out

    def abort(self) -> None:
        """Cut the connection now (proxy shutdown)."""
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None:
                side.transport.abort()
        if self._task is not None:
            self._task.cancel()


class _Accepted(_Side):
    """The client side: starts the connection once accepted."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.conn.start()


class TcpListener:
    """Listens on ip:port for one service port; `port` may be swapped by a sync."""

    def __init__(self, ip: str, number: int, port: ServedPort) -> None:
        self.ip = ip
        self.number = number
        self.port = port
        self.connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None

    def _accept(self) -> _Side:
        conn = _Connection(self.port, self)
        self.connections.add(conn)
        return conn.client

    async def start(self) -> None:
        """Bind and listen; OSError (address in use, not local) goes to the caller."""
        loop = asyncio.get_running_loop()
        kwargs: dict[str, Any] = {"reuse_address": True, "reuse_port": True, "backlog": 1024}
        self._server = await loop.create_server(self._accept, self.ip, self.number, **kwargs)

    async def stop(self) -> None:
        """Stop accepting; connections already open go on (they drain by themselves)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def abort_all(self) -> None:
        """Cut every open connection (shutdown)."""
        for conn in list(self.connections):
            conn.abort()

"""The UDP data path: one session per client address, each with its own endpoint socket.

A datagram from a new client address picks an endpoint (the same balancer as TCP, so
ClientIP affinity holds) and opens a connected socket to it; the endpoint's replies go
back to the client from the service address, so the client sees the address it asked.
A session ends after `idle_timeout` seconds without traffic (Kubernetes' userspace proxy
did the same). With no ready endpoint the proxy does not listen on the port at all, so
the kernel answers ICMP port-unreachable, UDP's "refused".
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import structlog

from client.timeouts import within
from proxy.served import ServedPort
from proxy.table import Backend

__all__ = ["UdpListener"]

log = structlog.get_logger("proxy.udp")

IDLE_TIMEOUT = 30.0
_CLOSE_TIMEOUT = 5.0
MAX_SESSIONS = 4096
"""Bound on concurrent sessions of one listener; the least recently used goes first."""

Address = tuple[Any, ...]


class _Session(asyncio.DatagramProtocol):
    """Client address <-> endpoint socket."""

    def __init__(self, listener: UdpListener, client: Address, backend: Backend) -> None:
        self.listener = listener
        self.client = client
        self.backend = backend
        self.transport: asyncio.DatagramTransport | None = None
        self.last = asyncio.get_running_loop().time()
        self.count_in = 0
        self.count_out = 0
        self._flushed_in = 0
        self._flushed_out = 0
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        for data in self.pending:
            self.transport.sendto(data)
        self.pending.clear()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.last = asyncio.get_running_loop().time()
        self.count_out += len(data)
        out = self.listener.transport
        if out is not None:
            out.sendto(data, self.client)

    def error_received(self, exc: Exception) -> None:
        self.listener.port.errors.inc()

    def connection_lost(self, exc: Exception | None) -> None:
        self.listener.forget(self)

    def send(self, data: bytes) -> None:
        self.last = asyncio.get_running_loop().time()
        self.count_in += len(data)
        if self.transport is None:
            self.pending.append(data)
        else:
            self.transport.sendto(data)

    def flush_counts(self) -> None:
        """Report the bytes forwarded since the last flush."""
        port = self.listener.port
        if self.count_in > self._flushed_in:
            port.bytes_in.inc(self.count_in - self._flushed_in)
            self._flushed_in = self.count_in
        if self.count_out > self._flushed_out:
            port.bytes_out.inc(self.count_out - self._flushed_out)
            self._flushed_out = self.count_out

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        else:
            self.listener.forget(self)


class UdpListener(asyncio.DatagramProtocol):
    """Receives on ip:port for one service port and relays to its endpoints."""

    def __init__(
        self, ip: str, number: int, port: ServedPort, *, idle_timeout: float = IDLE_TIMEOUT
    ) -> None:
        self.ip = ip
        self.number = number
        self.port = port
        self.idle_timeout = idle_timeout
        self.transport: asyncio.DatagramTransport | None = None
        self.sessions: dict[Address, _Session] = {}
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind; OSError goes to the caller."""
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.ip, self.number), reuse_port=True
        )
        self._sweeper = loop.create_task(self._sweep())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        session = self.sessions.get(addr)
        if session is not None and session.backend not in self.port.balancer.backends:
            session.close()  # its endpoint left: the next datagram picks another
            session = None
        if session is None:
            backend = self.port.balancer.pick(str(addr[0]))
            if backend is None:
                return
            if len(self.sessions) >= MAX_SESSIONS:
                oldest = min(self.sessions.values(), key=lambda s: s.last)
                oldest.close()
            session = _Session(self, addr, backend)
            self.sessions[addr] = session
            self.port.connections.inc()
            self.port.active.inc()
            self.port.flows.add(session)
            self.port.balancer.opened(backend)
            asyncio.get_running_loop().create_task(self._open(session))
        session.send(data)

    async def _open(self, session: _Session) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_datagram_endpoint(
                lambda: session, remote_addr=(session.backend.ip, session.backend.port)
            )
        except OSError as e:
            self.port.errors.inc()
            log.warning(
                "endpoint failed",
                service=self.port.key,
                endpoint=f"{session.backend.ip}:{session.backend.port}",
                error=str(e),
            )
            self.forget(session)

    def forget(self, session: _Session) -> None:
        """Drop a session that has ended."""
        if self.sessions.get(session.client) is session:
            del self.sessions[session.client]
            self.port.active.dec()
            self.port.flows.discard(session)
            self.port.balancer.closed(session.backend)
            session.flush_counts()

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(self.idle_timeout, 5.0))
            now = loop.time()
            for session in list(self.sessions.values()):
                if now - session.last > self.idle_timeout:
                    session.close()

    async def stop(self) -> None:
        """Stop receiving and end every session."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None
            # The socket is closed in a later loop turn; wait so the address is free.
            await within(asyncio.shield(self._closed), _CLOSE_TIMEOUT)
        for session in list(self.sessions.values()):
            session.close()

    def abort_all(self) -> None:
        """End every session (shutdown)."""
        for session in list(self.sessions.values()):
            session.close()

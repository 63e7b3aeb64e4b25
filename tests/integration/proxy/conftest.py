"""Fixtures for proxy tests: an API client, loopback backends that say who they are, proxies.

Backends listen on 127.0.0.x addresses (TCP and UDP) and answer every request with their
own name, so a test can count where connections went. Everything is stopped at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from client.api import ApiClient
from client.errors import NotFound
from proto import core_pb2, meta_pb2
from proxy.proxier import Proxier
from proxy.settings import ProxySettings
from tests.support.ports import free_port


@dataclass
class Backend:
    """A TCP+UDP server on ip:port that answers with its name (HTTP-ish for TCP)."""

    name: str
    ip: str
    port: int
    server: asyncio.Server | None = None
    udp: asyncio.DatagramTransport | None = None
    open: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, self.ip, self.port)
        loop = asyncio.get_running_loop()
        name = self.name.encode()

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                self.transport.sendto(name + b":" + data, addr)

        self.udp, _ = await loop.create_datagram_endpoint(Echo, local_addr=(self.ip, self.port))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer each line with "name\\n" until the client closes."""
        self.open.add(writer)
        try:
            for _ in range(100_000):
                line = await reader.readline()
                if not line:
                    break
                writer.write(self.name.encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.open.discard(writer)
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for w in list(self.open):
                w.close()
        if self.udp is not None:
            self.udp.close()


@pytest.fixture
async def backends() -> AsyncIterator[list[Backend]]:
    """Three started backends on 127.0.0.11, .12 and .13."""
    started: list[Backend] = []
    try:
        for i in range(3):
            ip = f"127.0.0.{11 + i}"
            b = Backend(f"pod-{i}", ip, free_port(ip))
            await b.start()
            started.append(b)
        yield started
    finally:
        for b in started:
            await b.stop()


@pytest.fixture
async def api(apiserver: Any) -> AsyncIterator[ApiClient]:
    client = ApiClient([apiserver.endpoint])
    try:
        yield client
    finally:
        await client.close()


class ProxyFactory:
    """Starts in-process proxies; all are stopped at the end."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.running: list[Proxier] = []

    async def start(self, address: str = "127.0.0.21", **options: Any) -> Proxier:
        options.setdefault("interface", "")
        options.setdefault("dns_port", 0)
        options.setdefault("sync_period", 2.0)
        options.setdefault("drain_timeout", 0.5)
        options.setdefault("node_name", "node-1")
        settings = ProxySettings(address=address, **options)
        proxier = Proxier(settings, self.api)
        self.running.append(proxier)
        await proxier.start()
        return proxier

    async def stop(self, proxier: Proxier) -> None:
        if proxier in self.running:
            self.running.remove(proxier)
            await proxier.stop()

    async def close(self) -> None:
        for p in list(self.running):
            try:
                async with asyncio.timeout(20):
                    await self.stop(p)
            except TimeoutError:
                for t in asyncio.all_tasks():
                    t.print_stack()
                raise AssertionError("a proxy did not stop within 20 s") from None


@pytest.fixture
async def proxies(api: ApiClient) -> AsyncIterator[ProxyFactory]:
    factory = ProxyFactory(api)
    try:
        yield factory
    finally:
        await factory.close()


def service(
    name: str,
    *,
    node_port: int = 0,
    port: int = 80,
    protocol: str = "TCP",
    cluster_ip: str = "",
    affinity: bool = False,
    ports: list[core_pb2.ServicePort] | None = None,
) -> core_pb2.Service:
    """A Service in "default"; NodePort when node_port is given."""
    svc = core_pb2.Service(metadata=meta_pb2.ObjectMeta(name=name, namespace="default"))
    svc.spec.selector["app"] = name
    svc.spec.type = "NodePort" if node_port else "ClusterIP"
    if cluster_ip:
        svc.spec.cluster_ip = cluster_ip
    if ports is not None:
        svc.spec.ports.extend(ports)
    else:
        svc.spec.ports.add(port=port, protocol=protocol, node_port=node_port)
    if affinity:
        svc.spec.session_affinity = "ClientIP"
        svc.spec.session_affinity_config.client_ip.timeout_seconds = 60
    return svc


async def set_endpoints(
    api: ApiClient,
    name: str,
    ready: list[Backend],
    *,
    not_ready: list[Backend] = (),  # type: ignore[assignment]
    port_name: str = "",
    protocol: str = "TCP",
) -> None:
    """Write the Endpoints of `name`: one subset per backend port (ports may differ)."""
    ep = core_pb2.Endpoints(metadata=meta_pb2.ObjectMeta(name=name, namespace="default"))
    for b in ready:
        subset = ep.subsets.add()
        subset.addresses.add(ip=b.ip)
        subset.ports.add(name=port_name, port=b.port, protocol=protocol)
    for b in not_ready:
        subset = ep.subsets.add()
        subset.not_ready_addresses.add(ip=b.ip)
        subset.ports.add(name=port_name, port=b.port, protocol=protocol)
    try:
        current = await api.get("endpoints", "default", name)
    except NotFound:
        await api.create(ep)
        return
    ep.metadata.resource_version = current.metadata.resource_version
    await api.update(ep)


async def ask(ip: str, port: int, timeout: float = 3.0) -> str:
    """One connection, one line: the name of the backend that answered."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(ip, port)
        try:
            writer.write(b"who\n")
            await writer.drain()
            return (await reader.readline()).decode().strip()
        finally:
            writer.close()


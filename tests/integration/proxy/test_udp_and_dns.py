"""UDP forwarding and cluster DNS of an in-process proxy, over loopback."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from typing import Any

from dnslib import QTYPE, RCODE, DNSRecord

from client.api import ApiClient
from proto import core_pb2, meta_pb2
from tests.integration.proxy.conftest import Backend, ProxyFactory, service, set_endpoints
from tests.support.waiting import eventually

NODE = "127.0.0.22"


async def udp_ask(ip: str, port: int, payload: bytes, timeout: float = 1.0) -> bytes | None:
    """Send one datagram from a fresh socket; the reply, or None."""
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if not got.done():
                got.set_result(data)

        def error_received(self, exc: Exception) -> None:
            if not got.done():
                got.set_exception(exc)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(ip, port))
    try:
        transport.sendto(payload)
        async with asyncio.timeout(timeout):
            return await got
    except (TimeoutError, OSError):
        return None
    finally:
        transport.close()


async def dns_query(
    address: tuple[str, int], name: str, qtype: str, *, tcp: bool = False
) -> DNSRecord:
    """One real DNS query over loopback (UDP, or TCP with the 2-byte length)."""
    packet = bytes(DNSRecord.question(name, qtype).pack())
    if tcp:
        reader, writer = await asyncio.open_connection(*address)
        try:
            writer.write(struct.pack("!H", len(packet)) + packet)
            await writer.drain()
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            return DNSRecord.parse(await reader.readexactly(size))
        finally:
            writer.close()
    data = await udp_ask(address[0], address[1], packet, timeout=2.0)
    assert data is not None, f"no DNS answer for {name} {qtype}"
    return DNSRecord.parse(data)


async def test_udp_datagrams_reach_every_endpoint_and_replies_come_back(
    api: ApiClient, backends: list[Backend], proxies: ProxyFactory
) -> None:
    np = random.randint(30000, 32767)
    await api.create(service("dns-like", node_port=np, protocol="UDP"))
    await set_endpoints(api, "dns-like", backends, protocol="UDP")
    await proxies.start(NODE)

    await eventually(lambda: udp_ask(NODE, np, b"ping"), what="UDP served")
    replies = [await udp_ask(NODE, np, b"ping") for _ in range(9)]

    names = {r.split(b":")[0] for r in replies if r}
    assert names == {b"pod-0", b"pod-1", b"pod-2"}
    assert all(r is not None and r.endswith(b":ping") for r in replies)


async def test_dns_answers_services_headless_pods_and_srv_over_udp_and_tcp(
    api: ApiClient, proxies: ProxyFactory
) -> None:
    web = service("web", ports=[core_pb2.ServicePort(name="http", port=80, protocol="TCP")])
    web = await api.create(web)
    db = service("db", ports=[core_pb2.ServicePort(name="pg", port=5432, protocol="TCP")])
    db.spec.cluster_ip = "None"
    await api.create(db)
    ep = core_pb2.Endpoints(metadata=meta_pb2.ObjectMeta(name="db", namespace="default"))
    subset = ep.subsets.add()
    subset.addresses.add(ip="172.30.1.5", hostname="db-0")
    subset.addresses.add(ip="172.30.2.7")
    subset.ports.add(name="pg", port=5432, protocol="TCP")
    await api.create(ep)
    proxier = await proxies.start(NODE)
    assert proxier.dns_address is not None
    address = proxier.dns_address
    fqdn = "web.default.svc.cluster.local"

    await eventually(
        lambda: "db.default.svc.cluster.local." in proxier.dns_table.records, what="DNS table"
    )
    a = await dns_query(address, fqdn, "A")
    a_tcp = await dns_query(address, fqdn, "A", tcp=True)
    headless = await dns_query(address, "db.default.svc.cluster.local", "A")
    pod = await dns_query(address, "db-0.db.default.svc.cluster.local", "A")
    srv = await dns_query(address, "_http._tcp.web.default.svc.cluster.local", "SRV")
    aaaa = await dns_query(address, fqdn, "AAAA")
    missing = await dns_query(address, "nope.default.svc.cluster.local", "A")
    outside = await dns_query(address, "example.org", "A")

    assert [str(r.rdata) for r in a.rr] == [web.spec.cluster_ip]
    assert [str(r.rdata) for r in a_tcp.rr] == [web.spec.cluster_ip]
    assert sorted(str(r.rdata) for r in headless.rr) == ["172.30.1.5", "172.30.2.7"]
    assert [str(r.rdata) for r in pod.rr] == ["172.30.1.5"]
    assert srv.rr[0].rtype == QTYPE.SRV and srv.rr[0].rdata.port == 80
    assert str(srv.rr[0].rdata.target) == fqdn + "."
    assert aaaa.header.rcode == RCODE.NOERROR and not aaaa.rr
    assert missing.header.rcode == RCODE.NXDOMAIN
    assert outside.header.rcode == RCODE.REFUSED


async def test_a_new_service_is_in_dns_after_the_next_sync(
    api: ApiClient, proxies: ProxyFactory
) -> None:
    proxier = await proxies.start(NODE)
    assert proxier.dns_address is not None
    await eventually(lambda: proxier.syncs > 0, what="first sync")

    created = await api.create(service("late"))

    async def resolves() -> bool:
        reply = await dns_query(proxier.dns_address, "late.default.svc.cluster.local", "A")  # type: ignore[arg-type]
        return [str(r.rdata) for r in reply.rr] == [created.spec.cluster_ip]

    await eventually(resolves, what="the new service resolving")


async def test_an_external_name_service_aliases_another_service_in_dns(
    api: ApiClient, proxies: ProxyFactory
) -> None:
    proxier = await proxies.start(NODE)
    assert proxier.dns_address is not None
    target = await api.create(service("db"))
    alias = service("database")
    alias.spec.type = "ExternalName"
    alias.spec.external_name = "db.default.svc.cluster.local"
    del alias.spec.ports[:]
    await api.create(alias)

    async def resolves() -> bool:
        reply = await dns_query(proxier.dns_address, "database.default.svc.cluster.local", "A")  # type: ignore[arg-type]
        return [(QTYPE[r.rtype], str(r.rdata)) for r in reply.rr] == [
            ("CNAME", "db.default.svc.cluster.local."),
            ("A", target.spec.cluster_ip),
        ]

    await eventually(resolves, what="the alias answered with the CNAME and its address")


def test_the_udp_helper_gets_no_answer_from_a_closed_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((NODE, 0))
        port = s.getsockname()[1]
    assert asyncio.run(udp_ask(NODE, port, b"x", timeout=0.5)) is None

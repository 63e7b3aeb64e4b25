"""Cluster DNS, served by the proxy on each node from the same caches it proxies from.

The wire format is dnslib's (pure Python, maintained, small: it parses and builds
messages and leaves the serving to us, which is all that is needed here; dnspython is
larger and centred on resolving). Answers, as Kubernetes' DNS specification has them:

- `SERVICE.NAMESPACE.svc.cluster.local` A -> the ClusterIP; for a headless service, the
  ready endpoints' IPs (and `HOSTNAME.SERVICE...` for endpoints that have a hostname);
- `_PORT._PROTO.SERVICE.NAMESPACE.svc.cluster.local` SRV for every named port: the
  service name and port, or for a headless service one record per endpoint;
- `SERVICE.NAMESPACE.svc.cluster.local` of an ExternalName service -> a CNAME to its
  `externalName`, whatever type is asked, followed within the cluster domain (so an
  ExternalName aliasing another Service's name gets that Service's A records too, as
  CoreDNS answers), never outside it;
- a name in the cluster domain that does not exist is NXDOMAIN; an existing name asked
  for another type (AAAA, say) is an empty NOERROR, so resolvers do not give up on it.

Short names (`web`, `web.default`) work through the search domains the kubelet writes
into each pod's resolv.conf, exactly as in Kubernetes: the resolver appends them. Names
outside the cluster domain are REFUSED: by the network rule the proxy sends no traffic
to any resolver outside the project, so it does not recurse.

The table is rebuilt on every proxy sync; a query reads the current table and never
waits. UDP replies that do not fit 512 bytes (or the client's EDNS size) are truncated
so the client retries over TCP, which is served too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import structlog
from dnslib import CNAME, QTYPE, RCODE, RR, SRV, A, DNSRecord

from client.timeouts import within
from proto import core_pb2

__all__ = ["DEFAULT_DOMAIN", "DnsServer", "DnsTable", "build_table"]

log = structlog.get_logger("proxy.dns")

DEFAULT_DOMAIN = "cluster.local"
TTL = 5
"""Seconds; short, because pods and ClusterIPs come and go."""
_UDP_LIMIT = 512
_MAX_TCP_MESSAGE = 65535
_TCP_IDLE = 10.0
_CLOSE_TIMEOUT = 5.0
_MAX_CHAIN = 8
"""CNAMEs followed in one answer; a loop of ExternalName services ends here."""


@dataclass
class DnsTable:
    """Records by lower-case absolute name ("web.default.svc.cluster.local.")."""

    domain: str = DEFAULT_DOMAIN
    records: dict[str, list[RR]] = field(default_factory=dict)

    def add(self, name: str, rtype: int, rdata: Any) -> None:
        """Add a record (and make the name exist)."""
        key = _absolute(name)
        self.records.setdefault(key, []).append(RR(key, rtype, rdata=rdata, ttl=TTL))

    def touch(self, name: str) -> None:
        """Make a name exist without records (an empty non-terminal)."""
        self.records.setdefault(_absolute(name), [])

    def in_domain(self, name: str) -> bool:
        """Whether `name` is at or under the cluster domain."""
        key = _absolute(name)
        suffix = _absolute(self.domain)
        return key == suffix or key.endswith("." + suffix)

    def lookup(self, name: str, qtype: int) -> tuple[int, list[RR]]:
        """The rcode and the answers for one question."""
        if not self.in_domain(name):
            return RCODE.REFUSED, []
        found = self.records.get(_absolute(name))
        if found is None:
            return RCODE.NXDOMAIN, []
        answers: list[RR] = []
        for _ in range(_MAX_CHAIN):
            alias = [rr for rr in found if rr.rtype == QTYPE.CNAME]
            if not alias or qtype in (QTYPE.CNAME, QTYPE.ANY):
                break
            # A CNAME answers every type; follow it while the table holds its target.
            answers += alias
            target = str(alias[0].rdata.label)
            found = self.records.get(_absolute(target), []) if self.in_domain(target) else []
        if qtype == QTYPE.ANY:
            return RCODE.NOERROR, answers + list(found)
        return RCODE.NOERROR, answers + [rr for rr in found if rr.rtype == qtype]


def _absolute(name: str) -> str:
    text = str(name).lower()
    return text if text.endswith(".") else text + "."


def _dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def _endpoint_addresses(
    ep: core_pb2.Endpoints | None, include_not_ready: bool
) -> list[core_pb2.EndpointAddress]:
    if ep is None:
        return []
    out: dict[str, core_pb2.EndpointAddress] = {}
    for subset in ep.subsets:
        addrs = [*subset.addresses, *(subset.not_ready_addresses if include_not_ready else [])]
        for a in addrs:
            out.setdefault(a.ip, a)
    return [out[ip] for ip in sorted(out)]


def build_table(
    services: Iterable[core_pb2.Service],
    endpoints: dict[str, core_pb2.Endpoints],
    domain: str = DEFAULT_DOMAIN,
) -> DnsTable:
    """Every name the cluster's Services and Endpoints define."""
    table = DnsTable(domain)
    table.touch(f"svc.{domain}")
    for svc in services:
        ns, name = svc.metadata.namespace, svc.metadata.name
        spec = svc.spec
        base = f"{name}.{ns}.svc.{domain}"
        table.touch(f"{ns}.svc.{domain}")
        if spec.type == "ExternalName":
            if spec.external_name:
                table.add(base, QTYPE.CNAME, CNAME(_absolute(spec.external_name)))
            continue
        table.touch(base)
        headless = spec.cluster_ip == "None"
        ep = endpoints.get(f"{ns}/{name}")
        if not headless and spec.cluster_ip:
            table.add(base, QTYPE.A, A(spec.cluster_ip))
            for p in spec.ports:
                if p.name:
                    srv = f"_{p.name}._{(p.protocol or 'TCP').lower()}.{base}"
                    table.add(srv, QTYPE.SRV, SRV(0, 100, p.port, _absolute(base)))
            continue
        if not headless:
            continue
        addresses = _endpoint_addresses(ep, spec.publish_not_ready_addresses)
        for a in addresses:
            if ipaddress.ip_address(a.ip).version != 4:
                continue
            table.add(base, QTYPE.A, A(a.ip))
            host = f"{a.hostname or _dashed(a.ip)}.{base}"
            table.add(host, QTYPE.A, A(a.ip))
        for p in spec.ports:
            if not p.name:
                continue
            srv = f"_{p.name}._{(p.protocol or 'TCP').lower()}.{base}"
            table.touch(srv)
            for subset in ep.subsets if ep is not None else []:
                for epp in subset.ports:
                    if epp.name != p.name:
                        continue
                    for a in subset.addresses:
                        target = _absolute(f"{a.hostname or _dashed(a.ip)}.{base}")
                        table.add(srv, QTYPE.SRV, SRV(0, 100, epp.port, target))
    return table


def answer(table: DnsTable, data: bytes, *, udp: bool) -> bytes | None:
    """The reply to one query message, or None when it cannot be parsed at all."""
    try:
        query = DNSRecord.parse(data)
    except Exception:  # dnslib raises several types for garbage
        return None
    reply = query.reply(ra=0)
    if query.header.opcode != 0 or len(query.questions) != 1:
        reply.header.rcode = RCODE.NOTIMP
        return bytes(reply.pack())
    q = query.questions[0]
    rcode, answers = table.lookup(str(q.qname), q.qtype)
    reply.header.rcode = rcode
    reply.header.aa = int(rcode != RCODE.REFUSED)
    asked = _absolute(str(q.qname))
    for rr in answers:
        # The question's own spelling (resolvers may vary its case); records reached
        # through a CNAME keep their own name.
        owner = q.qname if str(rr.rname) == asked else rr.rname
        reply.add_answer(RR(owner, rr.rtype, rdata=rr.rdata, ttl=rr.ttl))
    packed = bytes(reply.pack())
    limit = _UDP_LIMIT
    for ar in query.ar:
        if ar.rtype == QTYPE.OPT:
            limit = max(_UDP_LIMIT, int(ar.rclass))
    if udp and len(packed) > limit:
        truncated = query.reply(ra=0)
        truncated.header.tc = 1
        truncated.header.aa = reply.header.aa
        packed = bytes(truncated.pack())
    return packed


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, table: Callable[[], DnsTable]) -> None:
        self.table = table
        self.transport: asyncio.DatagramTransport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        out = answer(self.table(), data, udp=True)
        if out is not None and self.transport is not None:
            self.transport.sendto(out, addr)


class DnsServer:
    """Answers over UDP and TCP on each of `addresses` (host, port)."""

    def __init__(self, table: Callable[[], DnsTable]) -> None:
        self.table = table
        self._udp: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self._tcp: dict[tuple[str, int], asyncio.Server] = {}

    @property
    def addresses(self) -> set[tuple[str, int]]:
        """Where it listens now."""
        return set(self._udp) & set(self._tcp)

    async def listen(self, host: str, port: int) -> tuple[str, int]:
        """Serve on host:port (port 0: a free one, same for UDP and TCP); the bound address."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            self._tcp_handler, host, port, reuse_address=True, reuse_port=True
        )
        bound = int(server.sockets[0].getsockname()[1])
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self.table), local_addr=(host, bound), reuse_port=True
            )
        except OSError:
            server.close()
            raise
        self._tcp[(host, bound)] = server
        self._udp[(host, bound)] = transport
        log.info("dns listening", key=f"{host}:{bound}")
        return host, bound

    async def unlisten(self, host: str, port: int) -> None:
        """Stop serving on host:port."""
        udp = self._udp.pop((host, port), None)
        if udp is not None:
            udp.close()
            protocol = cast(_Udp, udp.get_protocol())
            # The socket is closed in a later loop turn; wait so the address is free.
            await within(protocol.closed, _CLOSE_TIMEOUT)
        tcp = self._tcp.pop((host, port), None)
        if tcp is not None:
            tcp.close()

    async def stop(self) -> None:
        """Stop serving everywhere."""
        for host, port in list(self._udp):
            await self.unlisten(host, port)

    def _tcp_handler(self) -> asyncio.Protocol:
        reader = asyncio.StreamReader(limit=_MAX_TCP_MESSAGE + 2)
        return asyncio.StreamReaderProtocol(reader, self._serve_tcp)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            # One query per turn; a client may pipeline several on one connection.
            for _ in range(1000):
                async with asyncio.timeout(_TCP_IDLE):
                    head = await reader.readexactly(2)
                    data = await reader.readexactly(struct.unpack("!H", head)[0])
                out = answer(self.table(), data, udp=False)
                if out is None:
                    break
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

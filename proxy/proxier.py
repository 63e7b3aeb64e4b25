"""The sync loop: informers in, listeners, balancers, addresses and DNS out.

Level-triggered like the controllers: an informer event only wakes the loop, and every
sync recomputes the whole desired state from the two caches (Services, Endpoints) and
moves the live state to it. That is also what makes a reconnect safe: whatever the
watch missed while the proxy was cut off, the informer's re-list puts into the cache,
and the next sync applies the whole of it, not a replay of changes. A periodic sync
re-asserts addresses and listeners that something else removed.

A service port is listened on only while it has a ready endpoint. With none, nothing
listens, so a new connection is refused by the kernel at once (RST) rather than
accepted and left hanging; connections already open are never cut by a sync: they drain.

In nftables mode (`settings.proxy_mode`) the same loop hands the service ports to an
`NftSyncer` instead: the kernel forwards, and the process keeps only the DNS server and
the interface carrying the cluster DNS address (and the route that keeps ClusterIPs on
the host).

Each sync also hands the Services' healthCheckNodePorts to the health server
(health_check.py), in both modes: it reports this node's ready endpoints to outside load
balancers, and the proxy as unhealthy once its syncs stop coming.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from client.api import ApiClient
from client.informer import Informer
from proto import core_pb2
from proxy import metrics
from proxy.balancer import Balancer
from proxy.dns import DnsServer, DnsTable, build_table
from proxy.health_check import ServiceHealthServer, health_checks
from proxy.network import Interface, NetworkError
from proxy.nftables import NftConfig
from proxy.nftsync import NftSyncer
from proxy.served import ServedPort
from proxy.settings import NFTABLES, ProxySettings
from proxy.syncloop import run_sync_loop
from proxy.table import Listen, ServicePort, build
from proxy.tcp import TcpListener
from proxy.udp import UdpListener

__all__ = ["Proxier"]

log = structlog.get_logger("proxy")

Listener = TcpListener | UdpListener


class Proxier:
    """One node's proxy; `start()`, then `stop()`."""

    def __init__(self, settings: ProxySettings, api: ApiClient) -> None:
        self.settings = settings
        self.api = api
        self.services: Informer[core_pb2.Service] = Informer(api, "services")
        self.endpoints: Informer[core_pb2.Endpoints] = Informer(api, "endpoints")
        for informer in (self.services, self.endpoints):
            informer.add_key_handler(lambda _key: self._changed.set())
        self.ports: dict[str, ServedPort] = {}
        self.listeners: dict[Listen, Listener] = {}
        self._listen_errors: dict[Listen, str] = {}
        """The listens that failed, with the error last logged for each."""
        self.table: dict[str, ServicePort] = {}
        self.dns_table = DnsTable(settings.domain)
        self.dns = DnsServer(lambda: self.dns_table)
        self.interface = (
            Interface(settings.interface, settings.service_range) if settings.interface else None
        )
        self.nft = (
            NftSyncer(
                NftConfig(
                    cluster_cidr=settings.cluster_cidr,
                    service_range=settings.service_range,
                    skip_ips=(settings.cluster_dns_ip,) if settings.cluster_dns_ip else (),
                )
            )
            if settings.proxy_mode == NFTABLES
            else None
        )
        self.dns_address: tuple[str, int] | None = None
        """Where the node's own DNS listens (host, port) once started."""
        self.health = ServiceHealthServer(settings.address, self._syncing)
        self.syncs = 0
        self._synced_at: float | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the informers, the node's DNS and the sync loop."""
        if self.nft is not None:
            await self.nft.start()  # no nft, no proxy: fail at once, not at every sync
        if self.interface is not None:
            try:
                await self.interface.ensure()
            except (NetworkError, OSError) as e:
                log.error("cannot set up the ClusterIP interface", error=str(e))
        if self.settings.dns_port >= 0:
            self.dns_address = await self.dns.listen(self.settings.address, self.settings.dns_port)
        self.services.start()
        self.endpoints.start()
        self._task = asyncio.create_task(self._loop(), name="proxy-sync")

    def _syncing(self) -> bool:
        """Whether a sync completed lately: a periodic one comes every sync_period, so two
        periods without one mean the rules may be stale (kube-proxy's healthz likewise)."""
        last = self._synced_at
        return last is not None and time.monotonic() - last < 2 * self.settings.sync_period

    async def ready(self) -> str | None:
        """None once the first full sync is done (the /readyz check)."""
        return None if self.syncs else "the first sync has not happened yet"

    async def stop(self) -> None:
        """Stop syncing and listening; open connections get drain_timeout to finish."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.services.stop()
        await self.endpoints.stop()
        await self.dns.stop()
        await self.health.stop()
        for listener in self.listeners.values():
            await listener.stop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.drain_timeout
        # Polls (bounded by the drain time): connections end in the transports' callbacks.
        while any(p.flows for p in self.ports.values()) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        for listener in self.listeners.values():
            listener.abort_all()
        for port in self.ports.values():
            port.flush_counts()
        self.listeners.clear()
        if self.nft is not None:
            try:
                await self.nft.stop()
            except (OSError, RuntimeError) as e:
                log.warning("cannot remove the nftables table", error=str(e))
        if self.interface is not None:
            try:
                await self.interface.release()
            except (NetworkError, OSError) as e:
                log.warning("cannot clean up the ClusterIP interface", error=str(e))

    async def _loop(self) -> None:
        await self.services.wait_synced()
        await self.endpoints.wait_synced()
        await run_sync_loop(
            self.sync,
            self._changed,
            min_interval=self.settings.min_sync_interval,
            period=self.settings.sync_period,
            failed=lambda: log.exception("sync failed"),
        )

    # -- one sync --------------------------------------------------------------------

    async def sync(self) -> None:
        """Make listeners, balancers, addresses and DNS match the caches."""
        started = time.perf_counter()
        services = self.services.list(copy=False)
        endpoints = {f"{e.metadata.namespace}/{e.metadata.name}": e
                     for e in self.endpoints.list(copy=False)}
        table = build(services, endpoints, self.settings.address, self.settings.node_name)
        if self.nft is not None:
            await self.nft.sync(table.values())
        else:
            self._sync_ports(table)
        await self._sync_addresses(table)
        if self.nft is None:
            await self._sync_listeners(table)
        if self.interface is not None:
            try:
                await self.interface.prune()
            except (NetworkError, OSError) as e:
                log.error("cannot remove ClusterIP addresses", error=str(e))
        await self.health.sync(health_checks(services, endpoints, self.settings.node_name))
        self.dns_table = build_table(services, endpoints, self.settings.domain)
        await self._sync_cluster_dns()
        for port in self.ports.values():
            port.flush_counts()
        self.table = table
        self.syncs += 1
        self._synced_at = time.monotonic()
        elapsed = time.perf_counter() - started
        metrics.SYNC_DURATION.observe(elapsed)
        log.debug("synced", ports=len(table), listeners=len(self.listeners), seconds=elapsed)

    def _sync_ports(self, table: dict[str, ServicePort]) -> None:
        for key, sp in table.items():
            served = self.ports.get(key)
            if served is None:
                balancer = Balancer(self.settings.mode, sp.affinity_timeout)
                served = ServedPort(key, balancer, connect_timeout=self.settings.connect_timeout)
                self.ports[key] = served
            before = served.balancer.backends
            served.balancer.update(sp.backends, sp.affinity_timeout)
            if before != served.balancer.backends:
                log.info(
                    "endpoints changed",
                    service=key,
                    endpoints=[f"{b.ip}:{b.port}" for b in sp.backends],
                )
        for key in [k for k, p in self.ports.items() if k not in table and not p.flows]:
            del self.ports[key]

    async def _sync_addresses(self, table: dict[str, ServicePort]) -> None:
        if self.interface is None:
            return
        # nftables DNATs ClusterIPs before routing: only the DNS address is local.
        wanted = {sp.cluster_ip for sp in table.values()} if self.nft is None else set()
        if self.settings.cluster_dns_ip:
            wanted.add(self.settings.cluster_dns_ip)
        try:
            await self.interface.sync(wanted)
        except (NetworkError, OSError) as e:
            log.error("cannot sync ClusterIP addresses", error=str(e))

    async def _sync_listeners(self, table: dict[str, ServicePort]) -> None:
        wanted: dict[Listen, ServicePort] = {}
        for sp in table.values():
            if sp.backends:
                for listen in sp.listens:
                    # Without the interface a ClusterIP is not local: nodePorts only.
                    if self.interface is not None or listen.ip != sp.cluster_ip:
                        wanted[listen] = sp
        for listen in [k for k in self.listeners if k not in wanted]:
            old = self.listeners.pop(listen)
            await old.stop()
            log.info("stopped listening", service=old.port.key, key=_show(listen))
        for listen, sp in wanted.items():
            served = self.ports[sp.key]
            existing = self.listeners.get(listen)
            if existing is not None:
                existing.port = served
                continue
            listener: Listener
            if listen.protocol == "UDP":
                listener = UdpListener(
                    listen.ip, listen.port, served, idle_timeout=self.settings.udp_idle_timeout
                )
            else:
                listener = TcpListener(listen.ip, listen.port, served)
            try:
                await listener.start()
            except OSError as e:
                # Tried again every sync; said once, not every sync_period (loopback nodes
                # share one namespace, so only one of them can hold an external IP).
                if self._listen_errors.get(listen) != str(e):
                    log.error("cannot listen", service=sp.key, key=_show(listen), error=str(e))
                self._listen_errors[listen] = str(e)
                continue
            self._listen_errors.pop(listen, None)
            self.listeners[listen] = listener
            log.info("listening", service=sp.key, key=_show(listen))
        for listen in [k for k in self._listen_errors if k not in wanted]:
            del self._listen_errors[listen]

    async def _sync_cluster_dns(self) -> None:
        ip = self.settings.cluster_dns_ip
        if not ip or self.interface is None or (ip, 53) in self.dns.addresses:
            return
        try:
            await self.dns.listen(ip, 53)
        except OSError as e:
            log.error("cannot serve cluster DNS", key=f"{ip}:53", error=str(e))


def _show(listen: Listen) -> str:
    return f"{listen.protocol.lower()}/{listen.ip}:{listen.port}"

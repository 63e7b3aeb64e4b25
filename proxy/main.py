"""`tug-proxy`: one node's service proxy and DNS, until SIGTERM or SIGINT.

tug-proxy --node-name n1 --address 127.0.0.2 --server 127.0.0.1:6443
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
from collections.abc import Callable, Sequence

import structlog
from prometheus_client import REGISTRY

from client.api import ApiClient, ClientOptions
from client.flags import endpoint_list, from_flags, positive_seconds
from client.logs import configure_logging
from client.statusserver import StatusServer
from client.tls import add_client_flags, client_credentials
from client.tokens import read_token
from proxy.balancer import MODES, ROUND_ROBIN
from proxy.dns import DEFAULT_DOMAIN
from proxy.ingress_server import IngressServer, add_ingress_flags, check_ingress_flags
from proxy.netpol_agent import NetworkPolicyAgent
from proxy.network import INTERFACE
from proxy.proxier import Proxier
from proxy.settings import (
    DEFAULT_CLUSTER_CIDR,
    DEFAULT_CLUSTER_DNS_IP,
    DEFAULT_SERVICE_RANGE,
    NFT_MIN_SYNC_INTERVAL,
    NFTABLES,
    PROXY_MODES,
    USERSPACE,
    ProxySettings,
)

log = structlog.get_logger("proxy")


def _ip(flag: str, *, empty: bool = False) -> Callable[[str], str]:
    def check(text: str) -> str:
        if empty and text == "":
            return text
        try:
            ipaddress.IPv4Address(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: {text!r} is not an IPv4 address") from None
        return text

    return check


def _cidr(text: str) -> str:
    try:
        return str(ipaddress.IPv4Network(text, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--service-cluster-ip-range: {text!r} is not an IPv4 CIDR"
        ) from None


def _cluster_cidr(text: str) -> str:
    try:
        return str(ipaddress.IPv4Network(text, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--cluster-cidr: {text!r} is not an IPv4 CIDR") from None


def parse_args(argv: Sequence[str] | None = None) -> tuple[ProxySettings, int | None, str]:
    """Settings, the status port and the log level; argparse errors name the flag."""
    p = argparse.ArgumentParser(prog="tug-proxy", description="The Tugboat service proxy.")
    p.add_argument("--node-name", required=True)
    p.add_argument(
        "--address",
        type=_ip("--address"),
        required=True,
        help="the node's IP: nodePorts and the node's DNS listen here",
    )
    p.add_argument(
        "--server", type=endpoint_list("--server"), required=True, help="API servers host:port,..."
    )
    p.add_argument("--token-file", default="", help="a file holding the proxy's token")
    add_client_flags(p)
    # --mode round-robin / least-connections (the flag's older meaning) still work:
    # they choose userspace mode with that balancing.
    p.add_argument(
        "--mode",
        choices=PROXY_MODES + MODES,
        default=USERSPACE,
        help="userspace (listeners in this process) or nftables (kernel rules)",
    )
    p.add_argument(
        "--balance", choices=MODES, default=None, help="userspace: how an endpoint is chosen"
    )
    p.add_argument(
        "--cluster-cidr",
        type=_cluster_cidr,
        default=DEFAULT_CLUSTER_CIDR,
        help="nftables: pod addresses; traffic from elsewhere is masqueraded",
    )
    p.add_argument(
        "--min-sync-period",
        type=positive_seconds,
        default=None,
        help="seconds between two syncs at least (changes in between are batched)",
    )
    p.add_argument("--service-cluster-ip-range", type=_cidr, default=DEFAULT_SERVICE_RANGE)
    p.add_argument(
        "--interface",
        default=INTERFACE,
        help='the interface carrying ClusterIPs ("" : nodePorts only)',
    )
    p.add_argument(
        "--cluster-dns",
        type=_ip("--cluster-dns", empty=True),
        default=DEFAULT_CLUSTER_DNS_IP,
        help='cluster DNS address ("" : off)',
    )
    p.add_argument("--dns-port", type=int, default=53, help="DNS port on --address; -1: off")
    p.add_argument("--cluster-domain", default=DEFAULT_DOMAIN)
    p.add_argument(
        "--sync-period",
        type=positive_seconds,
        default=10.0,
        help="seconds between resyncs",
    )
    p.add_argument("--http-port", type=int, default=None, help="/healthz /readyz /metrics port")
    add_ingress_flags(p)
    p.add_argument("--log-level", default="info")
    a = p.parse_args(argv)
    if a.sync_period <= 0:
        p.error("--sync-period: must be > 0")
    if not -1 <= a.dns_port <= 65535:
        p.error("--dns-port: must be -1 (off) or a port 0..65535")
    check_ingress_flags(p, a)
    if len(a.interface) > 15:
        p.error(f"--interface: {a.interface!r} is longer than Linux's 15 characters")
    try:
        token = read_token(a.token_file)
    except ValueError as e:
        p.error(f"--token-file: {e}")
    proxy_mode, balance = (a.mode, a.balance or ROUND_ROBIN)
    if a.mode in MODES:
        proxy_mode, balance = USERSPACE, a.balance or a.mode
    min_sync = a.min_sync_period
    if min_sync is None:
        min_sync = NFT_MIN_SYNC_INTERVAL if proxy_mode == NFTABLES else 0.05
    settings = from_flags(
        ProxySettings,
        a,
        token=token,
        tls=client_credentials(p, a),
        servers=tuple(a.server),
        proxy_mode=proxy_mode,
        mode=balance,
        min_sync_interval=min_sync,
        service_range=a.service_cluster_ip_range,
        cluster_dns_ip=a.cluster_dns,
        domain=a.cluster_domain.strip("."),
    )
    return settings, a.http_port, a.log_level


async def run(settings: ProxySettings, http_port: int | None, stop: asyncio.Event) -> None:
    """Run the proxy until `stop` is set."""
    api = ApiClient(list(settings.servers), ClientOptions(token=settings.token, tls=settings.tls))
    proxier = Proxier(settings, api)
    ingress = IngressServer.for_proxy(settings, api, proxier.services, proxier.endpoints)
    # Policies are enforced where the proxy owns the node's kernel rules (netpol_agent.py).
    policies = (
        NetworkPolicyAgent(api, settings.node_name, sync_period=settings.sync_period)
        if settings.proxy_mode == NFTABLES
        else None
    )
    status: StatusServer | None = None
    try:
        await proxier.start()
        if policies is not None:
            await policies.start()
        if ingress is not None:
            await ingress.start()
        if http_port is not None:
            status = StatusServer(
                settings.address, http_port, registry=REGISTRY, ready=proxier.ready
            )
            await status.start()
        log.info(
            "proxy running",
            node=settings.node_name,
            address=settings.address,
            mode=settings.proxy_mode,
            dns=proxier.dns_address,
        )
        await stop.wait()
    finally:
        log.info("stopping", node=settings.node_name)
        if status is not None:
            await status.stop()
        if ingress is not None:
            await ingress.stop()
        if policies is not None:
            await policies.stop()
        await proxier.stop()
        await api.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    settings, http_port, level = parse_args(argv)
    configure_logging("proxy", level=level)

    async def amain() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, http_port, stop)

    try:
        import uvloop
    except ImportError:  # plain asyncio works, a little slower
        asyncio.run(amain())
    else:
        uvloop.run(amain())


if __name__ == "__main__":
    main()

"""The proxy's settings: one dataclass, one docstring per field."""

from __future__ import annotations

from dataclasses import dataclass, field

from client.tls import ClientCredentials
from proxy.balancer import ROUND_ROBIN
from proxy.dns import DEFAULT_DOMAIN
from proxy.network import INTERFACE

__all__ = [
    "DEFAULT_CLUSTER_CIDR",
    "DEFAULT_CLUSTER_DNS_IP",
    "DEFAULT_SERVICE_RANGE",
    "NFTABLES",
    "NFT_MIN_SYNC_INTERVAL",
    "PROXY_MODES",
    "USERSPACE",
    "ProxySettings",
]

USERSPACE = "userspace"
"""Listeners and balancers in the proxy process: works where nodes share a namespace."""
NFTABLES = "nftables"
"""Kernel DNAT rules in one nftables table: needs a network namespace of the proxy's own."""
PROXY_MODES = (USERSPACE, NFTABLES)
NFT_MIN_SYNC_INTERVAL = 0.25
"""nftables mode's minimum interval between syncs. kube-proxy's default is 1 s, but an
endpoint that stops being ready must be out of the rules within 1 s of the Endpoints
update; a quarter second batches bursts (one nft transaction per burst) and leaves the
rest of that second for the watch and nft itself."""

DEFAULT_SERVICE_RANGE = "172.30.255.0/24"
"""ClusterIPs: the last /24 of the default cluster CIDR (172.30.0.0/16), which node IPAM
keeps out of the podCIDRs it hands out. The API server's allocator has the same default
(components do not import each other; a test checks that the two agree)."""
DEFAULT_CLUSTER_CIDR = "172.30.0.0/16"
"""Pod addresses (the controller manager's and kubelet's default): in nftables mode,
traffic from outside it is masqueraded."""
DEFAULT_CLUSTER_DNS_IP = "172.30.255.10"
"""The address every pod's resolver uses; the allocator never hands it to a Service."""


@dataclass(frozen=True)
class ProxySettings:
    """How one node's proxy runs."""

    node_name: str
    """The Node this proxy serves: its Endpoints addresses are the local ones of the traffic
    policies and the health check ports."""
    address: str
    """The node's address: nodePorts and the node's DNS listen here (127.0.0.N locally)."""
    servers: tuple[str, ...] = ("127.0.0.1:6443",)
    """API servers, host:port."""
    token: str = field(default="", repr=False)
    """The bearer token sent to them (--token-file); never logged."""
    tls: ClientCredentials | None = field(default=None, repr=False)
    """The cluster CA and the proxy's certificate (--certificate-authority, ...)."""
    proxy_mode: str = USERSPACE
    """userspace (listeners in this process) or nftables (kernel rules, see nftables.py)."""
    mode: str = ROUND_ROBIN
    """userspace: how an endpoint is chosen, round-robin or least-connections."""
    cluster_cidr: str = DEFAULT_CLUSTER_CIDR
    """nftables: pod addresses; other sources are masqueraded."""
    service_range: str = DEFAULT_SERVICE_RANGE
    """The service CIDR: routed to the interface so no ClusterIP ever leaves the host."""
    interface: str = INTERFACE
    """The project's interface that carries ClusterIPs; "" serves nodePorts only."""
    cluster_dns_ip: str = DEFAULT_CLUSTER_DNS_IP
    """The cluster DNS address (port 53) on the interface; "" turns it off."""
    dns_port: int = 53
    """DNS port on the node's own address; -1 turns it off, 0 picks a free one."""
    domain: str = DEFAULT_DOMAIN
    """The cluster domain."""
    sync_period: float = 10.0
    """Seconds between full syncs when nothing changed (addresses and listeners re-checked)."""
    min_sync_interval: float = 0.05
    """Changes arriving within this many seconds are applied in one sync (nftables mode
    uses NFT_MIN_SYNC_INTERVAL unless told otherwise)."""
    connect_timeout: float = 2.0
    """Seconds to connect to an endpoint before trying the next one."""
    udp_idle_timeout: float = 30.0
    """A UDP session without traffic for this long ends."""
    drain_timeout: float = 5.0
    """On shutdown, open connections get this long to finish before they are cut."""
    ingress_http_port: int = 80
    """The ingress controller's HTTP port on the node's address; -1 turns it off."""
    ingress_https_port: int = 443
    """The ingress controller's HTTPS port on the node's address; -1 turns it off."""

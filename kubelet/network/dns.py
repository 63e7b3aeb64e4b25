"""Pointing a pod's resolver at the cluster DNS (dnsPolicy ClusterFirst, the default).

The cluster DNS is served by the service proxy on each node at one address on the
project's `tugboat-svc` interface (172.30.255.10 by default; `--cluster-dns`). Pods
reach it through their node's Docker bridge. The resolver gets Kubernetes' search path,
so `web`, `web.default` and `web.default.svc` resolve from a pod in "default":

    search <namespace>.svc.<domain> svc.<domain> <domain>
    options ndots:5

Docker settings go on the sandbox (pause) container: app containers share its network
namespace and therefore its resolv.conf. A sandbox that veth.py puts on the bridge (on
network "none" to Docker) gets these servers in its resolv.conf as they are; one that is a
Docker endpoint on the user-defined network gets Docker's embedded resolver, which
forwards what it does not know to them. dnsPolicy `Default`, and host-network pods, keep
Docker's own resolver settings (the host's resolv.conf for a sandbox on "none"), unless a
dnsConfig adds to them; dnsPolicy `None` takes the pod's dnsConfig alone.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import structlog

__all__ = ["PodNaming", "is_local", "sandbox_dns"]

log = structlog.get_logger("kubelet.network.dns")


@dataclass(frozen=True)
class PodNaming:
    """How a pod's sandbox resolves names, beyond what dnsPolicy gives: the pod's
    dnsConfig (options as resolv.conf writes them, "ndots:2" or "edns0") and hostAliases
    (host name -> address)."""

    nameservers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    hosts: dict[str, str] = field(default_factory=dict)


def is_local(ip: str) -> bool:
    """Whether `ip` is an address of this host (a socket can bind to it)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((ip, 0))
        return True
    except OSError:
        return False


def sandbox_dns(
    namespace: str,
    cluster_dns: str,
    domain: str = "cluster.local",
    dns_policy: str = "",
    naming: PodNaming | None = None,
) -> dict[str, Any]:
    """Docker `containers.run` keyword arguments (dns, dns_search, dns_opt), or {}.

    The cluster DNS only while its address is local (a proxy runs here): otherwise a pod's
    queries to it would follow the host's default route off the machine. A pod's
    dnsConfig is merged in as Kubernetes merges it: its nameservers and searches after
    the policy's (three and 32 at most), its options over the policy's by name; with
    dnsPolicy None it is all there is.
    """
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    if dns_policy == "None":
        pass
    elif not cluster_dns or dns_policy == "Default":
        if naming is None or not (naming.nameservers or naming.searches or naming.options):
            return {}
        servers, searches = _host_resolver()
    elif not is_local(cluster_dns):
        log.warning(
            "cluster DNS address is not on this host: pods keep Docker's resolver", key=cluster_dns
        )
        return {}
    else:
        servers = [cluster_dns]
        searches = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]
        options = ["ndots:5"]
    if naming is not None:
        servers = _unique(servers + naming.nameservers)[:MAX_NAMESERVERS]
        searches = _unique(searches + naming.searches)[:MAX_SEARCHES]
        given = {o.partition(":")[0] for o in naming.options}
        options = [o for o in options if o.partition(":")[0] not in given] + naming.options
    out: dict[str, Any] = {"dns": servers, "dns_search": searches or ["."], "dns_opt": options}
    return {k: v for k, v in out.items() if v}


MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
HOST_RESOLV_CONF = "/etc/resolv.conf"


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _host_resolver() -> tuple[list[str], list[str]]:
    """The node's own nameservers and search domains (dnsPolicy Default with a dnsConfig:
    Kubernetes appends the pod's to the node's)."""
    servers: list[str] = []
    searches: list[str] = []
    try:
        with open(HOST_RESOLV_CONF, encoding="utf-8") as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    servers.append(words[1])
                elif words and words[0] in ("search", "domain"):
                    searches = words[1:]
    except OSError:
        pass
    return servers, searches

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
Docker's own resolver settings (the host's resolv.conf for a sandbox on "none").
"""

from __future__ import annotations

import socket
from typing import Any

import structlog

__all__ = ["is_local", "sandbox_dns"]

log = structlog.get_logger("kubelet.network.dns")


def is_local(ip: str) -> bool:
    """Whether `ip` is an address of this host (a socket can bind to it)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((ip, 0))
        return True
    except OSError:
        return False


def sandbox_dns(
    namespace: str, cluster_dns: str, domain: str = "cluster.local", dns_policy: str = ""
) -> dict[str, Any]:
    """Docker `containers.run` keyword arguments (dns, dns_search, dns_opt), or {}.

    Only while the cluster DNS address is local (a proxy runs here): otherwise a pod's
    queries to it would follow the host's default route off the machine.
    """
    if not cluster_dns or dns_policy == "Default":
        return {}
    if not is_local(cluster_dns):
        log.warning(
            "cluster DNS address is not on this host: pods keep Docker's resolver", key=cluster_dns
        )
        return {}
    return {
        "dns": [cluster_dns],
        "dns_search": [f"{namespace}.svc.{domain}", f"svc.{domain}", domain],
        "dns_opt": ["ndots:5"],
    }

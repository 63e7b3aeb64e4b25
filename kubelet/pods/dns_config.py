"""Pointing a pod's resolver at the cluster DNS (dnsPolicy ClusterFirst, the default).

The cluster DNS is served by the service proxy on each node at one address on the
project's `tugboat-svc` interface (172.30.255.10 by default; `--cluster-dns`). Pods
reach it through their node's Docker bridge. The resolver gets Kubernetes' search path,
so `web`, `web.default` and `web.default.svc` resolve from a pod in "default":

    search <namespace>.svc.<domain> svc.<domain> <domain>
    options ndots:5

Docker settings go on the sandbox (pause) container: app containers share its network
namespace and therefore its resolv.conf. On a user-defined network Docker's embedded
resolver answers first and forwards what it does not know to these servers. dnsPolicy
`Default`, and host-network pods, keep Docker's own resolver settings.
"""

from __future__ import annotations

from typing import Any

__all__ = ["sandbox_dns"]


def sandbox_dns(
    namespace: str, cluster_dns: str, domain: str = "cluster.local", dns_policy: str = ""
) -> dict[str, Any]:
    """Docker `containers.run` keyword arguments (dns, dns_search, dns_opt), or {}."""
    if not cluster_dns or dns_policy == "Default":
        return {}
    return {
        "dns": [cluster_dns],
        "dns_search": [f"{namespace}.svc.{domain}", f"svc.{domain}", domain],
        "dns_opt": ["ndots:5"],
    }

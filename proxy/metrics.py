"""The proxy's Prometheus metrics; `service` is the service port ("ns/name" or "ns/name:port")."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Counter(
    "tugboat_proxy_connections_total",
    "Connections (TCP) and sessions (UDP) accepted for a service port.",
    ["service"],
)
ACTIVE_CONNECTIONS = Gauge(
    "tugboat_proxy_active_connections",
    "Connections and UDP sessions open now.",
    ["service"],
)
BYTES = Counter(
    "tugboat_proxy_bytes_total",
    "Bytes forwarded: direction 'in' is client to endpoint, 'out' endpoint to client.",
    ["service", "direction"],
)
SYNC_DURATION = Histogram(
    "tugboat_proxy_sync_duration_seconds",
    "Time of one full sync of listeners, balancers, addresses and DNS from the caches.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
ENDPOINT_ERRORS = Counter(
    "tugboat_proxy_endpoint_errors_total",
    "Failed connections to an endpoint (refused, unreachable, timed out).",
    ["service"],
)
# The nftables mode's syncs, named as kube-proxy names its own where it has a name.
RULES_SYNC_DURATION = Histogram(
    "kubeproxy_sync_proxy_rules_duration_seconds",
    "Time to load one nftables rule set (one nft transaction).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
RULES_LAST_SYNC = Gauge(
    "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
    "Unix time of the last nftables rule set loaded.",
)
NFT_RULES = Gauge(
    "tugboat_proxy_nftables_rules",
    "Rules in the nftables table the proxy loaded last (0 once removed).",
)
NFT_SYNC_FAILURES = Counter(
    "tugboat_proxy_nftables_sync_failures_total",
    "nftables rule sets nft refused or did not answer (the previous set stays).",
)
NFT_STALE_TABLES = Counter(
    "tugboat_proxy_nftables_stale_tables_total",
    "Tables found at start, left by an earlier proxy that did not stop cleanly.",
)
NO_LOCAL_ENDPOINTS = Gauge(
    "kubeproxy_sync_proxy_rules_no_local_endpoints_total",
    "Service ports with a Local traffic policy and endpoints, none of them on this node "
    "(their traffic of that kind is dropped here), in the rule set loaded last.",
    ["traffic_policy"],
)
# NetworkPolicy enforcement (netpol_agent.py).
NETPOL_RULES = Gauge(
    "tugboat_proxy_network_policy_rules",
    "Rules in the network policy table loaded last (0 once removed).",
)
NETPOL_ISOLATED_PODS = Gauge(
    "tugboat_proxy_network_policy_isolated_pods",
    "Pods of this node that some NetworkPolicy isolates, in the rule set loaded last.",
)
NETPOL_SYNC_FAILURES = Counter(
    "tugboat_proxy_network_policy_sync_failures_total",
    "Network policy rule sets that could not be loaded (the previous set stays).",
)

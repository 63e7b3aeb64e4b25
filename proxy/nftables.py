"""The nftables rule set of one node, as text, computed from the proxy's service ports.

This is the pure half of the nftables mode: `render(ports, config)` turns `table.build`'s
service ports into one `nft -f` script and nothing else (no subprocess, no clock), so a
test can compare the text exactly and load it with `nft -c`. The syncer (`nftsync.py`)
only runs the script.

Why the rule set has this shape (after kube-proxy's nftables mode, in our own words):

- One table of the proxy's own, `ip tugboat-proxy`. The script begins with `add table`
  then `delete table` and then declares the table whole, so one `nft -f` transaction
  replaces every rule at once: a sync that fails leaves the previous rule set, never half
  of the new one, and a table left by a crashed proxy is replaced by the first sync.
- Dispatch is by verdict maps, not by one rule per service: `ip daddr . proto . port`
  looks the ClusterIP up in `service-ips`, `proto . port` looks a nodePort up in
  `service-nodeports` when the destination is a local address (`fib daddr type local`,
  so every address of the node, not a configured one). A lookup costs the same for ten
  services as for ten thousand. A Service's `externalIPs` are entries of `service-ips`
  too, leading to the chain of outside traffic that a nodePort leads to: an external IP
  is routed to some node from outside, and is not an address of the node.
- Each service port has a chain that picks an endpoint with `numgen random mod N`, equal
  weight per ready endpoint, and one chain per endpoint that DNATs to it. Not-ready
  endpoints never appear: `table.build` keeps only ready addresses.
- ClientIP affinity: one dynamic set per endpoint with the service's timeout; the endpoint
  chain adds the client's address, and the service chain sends a client found in a set to
  that endpoint before drawing a random one.
- Masquerade is a mark (0x4000) set where it is needed and acted on in postrouting:
  traffic whose source is not a pod (outside the cluster CIDR, or the node's own
  traffic, whose source is an address in the service range), every nodePort connection
  (it may arrive from another node and be sent to a third), and hairpin traffic (a pod
  reaching itself through its service, which would otherwise see its own address as the
  source and drop the reply).
- Traffic policies (kube-proxy's "local" chains): with `internalTrafficPolicy: Local` the
  service chain draws among the node's own endpoints; with `externalTrafficPolicy:
  Local` the nodePort chain does, without the masquerade mark, so the pod sees the
  client's address. Pods and the node itself reaching a nodePort are not outside
  traffic and go to every endpoint (the service chain, or a `cluster-` chain when the
  service chain keeps to the node). No local endpoint: `drop`, as kube-proxy's; the
  service has endpoints, only elsewhere, so "refused" would be a lie.
- A service port with no ready endpoint is in `no-endpoint-services` (and
  `no-endpoint-nodeports`), and filter chains at priority -110 (ahead of the default
  filter tables) reject a new connection to it with an ICMP port unreachable: the client
  gets "connection refused" at once instead of a timeout.
- The cluster DNS address never gets a rule: the proxy's own DNS server answers there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from proxy.table import Backend, ServicePort

__all__ = ["MASQUERADE_MARK", "TABLE", "NftConfig", "delete_script", "render", "rule_count"]

TABLE = "tugboat-proxy"
"""The table's name (family ip); nothing else in the host uses it."""
MASQUERADE_MARK = 0x4000
"""The packet mark bit meaning "masquerade me in postrouting" (kube-proxy's bit)."""

_UNSAFE = re.compile(r"[^a-zA-Z0-9/_.-]")


@dataclass(frozen=True)
class NftConfig:
    """What the rule set needs besides the service ports."""

    cluster_cidr: str = "172.30.0.0/16"
    """Pod addresses: traffic from elsewhere is masqueraded."""
    service_range: str = "172.30.255.0/24"
    """ClusterIPs: a source here is the node itself (its address on the service
    interface), so it is masqueraded like any non-pod source."""
    skip_ips: tuple[str, ...] = ()
    """Addresses that never get a rule (the cluster DNS address, served locally)."""
    table: str = TABLE


def _name(*parts: str) -> str:
    """A chain or set name: nft identifiers take letters, digits and / _ . - only."""
    return _UNSAFE.sub("_", "/".join(parts))


def _port_id(sp: ServicePort) -> str:
    # ns/name/proto/port: unique per service port and readable in `nft list table`.
    return _name(sp.service, sp.protocol.lower(), str(sp.port))


def _svc_chain(sp: ServicePort) -> str:
    return "svc-" + _port_id(sp)


def _ext_chain(sp: ServicePort) -> str:
    return "ext-" + _port_id(sp)


def _cluster_chain(sp: ServicePort) -> str:
    return "cluster-" + _port_id(sp)


def _ep_chain(sp: ServicePort, b: Backend) -> str:
    return f"ep-{_port_id(sp)}/{_name(b.ip, str(b.port))}"


def _aff_set(sp: ServicePort, b: Backend) -> str:
    return f"aff-{_port_id(sp)}/{_name(b.ip, str(b.port))}"


def _elements(items: list[str]) -> list[str]:
    # nft refuses "elements = { }": an empty set or map simply has no elements line.
    return [f"\t\telements = {{ {', '.join(items)} }}"] if items else []


def render(ports: Iterable[ServicePort], config: NftConfig) -> str:
    """The whole `nft -f` script: replace table `config.table` with these service ports."""
    t = config.table
    mark = f"0x{MASQUERADE_MARK:x}"
    chosen = sorted(
        (sp for sp in ports if sp.cluster_ip not in config.skip_ips),
        key=lambda sp: (sp.service, sp.protocol, sp.port),
    )
    ips: list[str] = []
    nodeports: list[str] = []
    no_ep_ips: list[str] = []
    no_ep_nodeports: list[str] = []
    body: list[str] = []
    for sp in chosen:
        proto = sp.protocol.lower()
        if not sp.backends:
            no_ep_ips += [f"{ip} . {proto} . {sp.port}" for ip in (sp.cluster_ip, *sp.external_ips)]
            if sp.node_port:
                no_ep_nodeports.append(f"{proto} . {sp.node_port}")
            continue
        ips.append(f"{sp.cluster_ip} . {proto} . {sp.port} : goto {_svc_chain(sp)}")
        ips += [f"{ip} . {proto} . {sp.port} : goto {_ext_chain(sp)}" for ip in sp.external_ips]
        if sp.node_port:
            nodeports.append(f"{proto} . {sp.node_port} : goto {_ext_chain(sp)}")
        body += _service_chains(sp, config)

    lines = [f"add table ip {t}", f"delete table ip {t}", f"table ip {t} {{"]
    lines += [
        "\tmap service-ips {",
        "\t\ttype ipv4_addr . inet_proto . inet_service : verdict",
        *_elements(ips),
        "\t}",
        "\tmap service-nodeports {",
        "\t\ttype inet_proto . inet_service : verdict",
        *_elements(nodeports),
        "\t}",
        "\tset no-endpoint-services {",
        "\t\ttype ipv4_addr . inet_proto . inet_service",
        *_elements(no_ep_ips),
        "\t}",
        "\tset no-endpoint-nodeports {",
        "\t\ttype inet_proto . inet_service",
        *_elements(no_ep_nodeports),
        "\t}",
    ]
    for sp in chosen:
        if sp.backends and sp.affinity_timeout is not None:
            for b in sp.backends:
                lines += [
                    f"\tset {_aff_set(sp, b)} {{",
                    "\t\ttype ipv4_addr",
                    "\t\tflags dynamic,timeout",
                    f"\t\ttimeout {max(1, int(sp.affinity_timeout))}s",
                    "\t}",
                ]
    lines += [
        "\tchain mark-for-masquerade {",
        f"\t\tmeta mark set meta mark | {mark}",
        "\t}",
        "\tchain masquerading {",
        f"\t\tmeta mark & {mark} == 0 return",
        f"\t\tmeta mark set meta mark ^ {mark}",
        # TCP keeps the client's port where it is free: fully random ports map many client
        # connections onto one pod-side tuple within the pod's TIME_WAIT, and each comes
        # with its own random timestamp offset, so the pod refuses the SYN (PAWS) and the
        # client waits to send it again (bench/proxy/nftables_lab.py). UDP keeps
        # kube-proxy's fully random ports, against conntrack's port races on DNS.
        "\t\tmeta l4proto tcp masquerade",
        "\t\tmasquerade fully-random",
        "\t}",
        "\tchain services {",
        "\t\tip daddr . meta l4proto . th dport vmap @service-ips",
        # Loopback is left out: DNAT of 127.0.0.0/8 would need route_localnet.
        "\t\tfib daddr type local ip daddr != 127.0.0.0/8 "
        "meta l4proto . th dport vmap @service-nodeports",
        "\t}",
        "\tchain endpoints-check {",
        "\t\tip daddr . meta l4proto . th dport @no-endpoint-services reject",
        "\t\tfib daddr type local ip daddr != 127.0.0.0/8 "
        "meta l4proto . th dport @no-endpoint-nodeports reject",
        "\t}",
        "\tchain nat-prerouting {",
        "\t\ttype nat hook prerouting priority dstnat; policy accept;",
        "\t\tjump services",
        "\t}",
        "\tchain nat-output {",
        "\t\ttype nat hook output priority -100; policy accept;",
        "\t\tjump services",
        "\t}",
        "\tchain nat-postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        "\t\tjump masquerading",
        "\t}",
    ]
    # Ahead of every default filter table (priority 0), and of DNAT for output.
    for hook in ("input", "forward", "output"):
        lines += [
            f"\tchain filter-{hook} {{",
            f"\t\ttype filter hook {hook} priority -110; policy accept;",
            "\t\tct state new jump endpoints-check",
            "\t}",
        ]
    lines += body
    lines.append("}")
    return "\n".join(lines) + "\n"


def _service_chains(sp: ServicePort, config: NftConfig) -> list[str]:
    proto = sp.protocol.lower()
    internal = sp.local_backends if sp.internal_local else sp.backends
    lines = [
        f"\tchain {_svc_chain(sp)} {{",
        f"\t\tip saddr != {config.cluster_cidr} jump mark-for-masquerade",
        f"\t\tip saddr {config.service_range} jump mark-for-masquerade",
        *_pick(sp, internal),
        "\t}",
    ]
    # Where traffic that may go to any endpoint goes: the service chain, unless that one
    # keeps to the node's own endpoints; then a chain of its own.
    cluster = _svc_chain(sp)
    external = bool(sp.node_port or sp.external_ips)
    if external and sp.internal_local:
        cluster = _cluster_chain(sp)
        lines += [f"\tchain {cluster} {{", *_pick(sp, sp.backends), "\t}"]
    if external and sp.external_local:
        # Local: no masquerade, so the pod sees the client's address, and only this
        # node's endpoints. A pod or the node itself reaching the nodePort is not outside
        # traffic, and goes anywhere as kube-proxy sends it (the node's own, masqueraded).
        lines += [
            f"\tchain {_ext_chain(sp)} {{",
            f"\t\tip saddr {config.cluster_cidr} goto {cluster}",
            "\t\tfib saddr type local jump mark-for-masquerade",
            f"\t\tfib saddr type local goto {cluster}",
            *_pick(sp, sp.local_backends),
            "\t}",
        ]
    elif external:
        lines += [
            f"\tchain {_ext_chain(sp)} {{",
            "\t\tjump mark-for-masquerade",
            f"\t\tgoto {cluster}",
            "\t}",
        ]
    for b in sp.backends:
        lines += [f"\tchain {_ep_chain(sp, b)} {{", f"\t\tip saddr {b.ip} jump mark-for-masquerade"]
        if sp.affinity_timeout is not None:
            lines.append(f"\t\tupdate @{_aff_set(sp, b)} {{ ip saddr }}")
        lines += [f"\t\tmeta l4proto {proto} dnat to {b.ip}:{b.port}", "\t}"]
    return lines


def _pick(sp: ServicePort, backends: tuple[Backend, ...]) -> list[str]:
    """Rules sending a connection to one of `backends`: the client's affinity first, then
    one drawn at random. None (a Local policy on a node without endpoints): dropped, as
    kube-proxy drops it; a service with no endpoint at all is rejected earlier."""
    if not backends:
        return ["\t\tdrop"]
    lines = []
    if sp.affinity_timeout is not None:
        lines += [f"\t\tip saddr @{_aff_set(sp, b)} goto {_ep_chain(sp, b)}" for b in backends]
    picks = ", ".join(f"{i} : goto {_ep_chain(sp, b)}" for i, b in enumerate(backends))
    return [*lines, f"\t\tnumgen random mod {len(backends)} vmap {{ {picks} }}"]


def delete_script(table: str = TABLE) -> str:
    """Remove the table if it is there (`add` first makes the delete never fail)."""
    return f"add table ip {table}\ndelete table ip {table}\n"


def rule_count(script: str) -> int:
    """Rules in a script: lines inside chains that are not a chain's header or type line."""
    count = 0
    in_chain = False
    for raw in script.splitlines():
        line = raw.strip()
        if line.startswith("chain "):
            in_chain = True
        elif line == "}":
            in_chain = False
        elif in_chain and line and not line.startswith("type "):
            count += 1
    return count

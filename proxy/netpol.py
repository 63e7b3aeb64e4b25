"""What NetworkPolicies mean for this node's pods: who is isolated, and what each may reach.

This is the pure half of policy enforcement: `isolations(...)` reads policies, pods and
namespaces and says, for every pod of this node that a policy isolates, which sources
may reach it (ingress) and which destinations it may reach (egress); `netpol_rules.py`
turns that into nftables rules. No clock, no subprocess, so a test states the meaning
of a policy exactly.

Kubernetes' semantics, as its docs and conformance tests state them:

- A pod is isolated for ingress (egress) when some policy of its namespace selects it by
  `podSelector` and lists Ingress (Egress) in `policyTypes`. What it may then receive
  (send) is the union of the rules of every such policy; a policy with the type and no
  rules allows nothing, which is how "default deny" is written.
- A rule allows a packet when one of its peers matches the other end and one of its
  ports matches the destination port; no peers means every address, no ports every
  port. A peer is pods chosen by `podSelector` in the policy's namespace, pods in the
  namespaces chosen by `namespaceSelector` (both: the pods of those namespaces chosen by
  the pod selector), or an address block minus its `except` blocks.
- A named port is looked up in the destination pod's containers: for ingress that is the
  isolated pod itself; for egress every pod the rule's peers allow, so a named egress
  port reaches only pods that declare it.
- Pods on the host network are never isolated and are not selected as peers: their
  address is the node's, so a rule about them would be a rule about the node.

Replies to allowed connections are the rule set's business (conntrack), not this
module's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import structlog

from client.selectors import LabelSelector, from_proto
from proto import core_pb2, meta_pb2, networking_pb2

__all__ = ["Allow", "Isolation", "PortMatch", "isolations"]

log = structlog.get_logger("proxy.netpol")

Policy = networking_pb2.NetworkPolicy
Pod = core_pb2.Pod


@dataclass(frozen=True, order=True)
class PortMatch:
    """A protocol and a port range; `low` None is every port of the protocol."""

    protocol: str
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class Allow:
    """One way in (or out): addresses (None: any; pod IPs or CIDRs), an address block's
    exceptions, and ports (None: any)."""

    addresses: tuple[str, ...] | None
    ports: tuple[PortMatch, ...] | None = None
    excepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Isolation:
    """One isolated pod of this node: None for a direction it is not isolated in."""

    key: str
    ip: str
    ingress: tuple[Allow, ...] | None
    egress: tuple[Allow, ...] | None


def _selector(selector: meta_pb2.LabelSelector, where: str) -> LabelSelector | None:
    try:
        return from_proto(selector)
    except ValueError as e:  # validation refuses these; an old object must not stop us
        log.warning("network policy selector ignored", policy=where, error=str(e))
        return None


def _reachable(pod: Pod) -> bool:
    """A pod that has an address of its own and may still use it."""
    return (
        bool(pod.status.pod_ip)
        and not pod.spec.host_network
        and pod.status.phase not in ("Succeeded", "Failed")
    )


def _named_port(pod: Pod, name: str, protocol: str) -> int | None:
    for container in [*pod.spec.init_containers, *pod.spec.containers]:
        for port in container.ports:
            if port.name == name and (port.protocol or "TCP") == protocol:
                return port.container_port
    return None


class _World:
    """The pods and namespaces the peers of a policy are chosen from."""

    def __init__(self, pods: Iterable[Pod], namespaces: Mapping[str, Mapping[str, str]]) -> None:
        self.pods = [p for p in pods if _reachable(p)]
        self.namespaces = namespaces

    def peer_pods(self, policy: Policy, peer: networking_pb2.NetworkPolicyPeer) -> list[Pod]:
        where = f"{policy.metadata.namespace}/{policy.metadata.name}"
        pods_by: LabelSelector | None = None
        if peer.HasField("pod_selector"):
            pods_by = _selector(peer.pod_selector, where)
            if pods_by is None:
                return []
        if peer.HasField("namespace_selector"):
            spaces_by = _selector(peer.namespace_selector, where)
            if spaces_by is None:
                return []
            spaces = {n for n, labels in self.namespaces.items() if spaces_by.matches(labels)}
        else:
            spaces = {policy.metadata.namespace}
        return [
            p
            for p in self.pods
            if p.metadata.namespace in spaces
            and (pods_by is None or pods_by.matches(p.metadata.labels))
        ]


def _ports(
    ports: Iterable[networking_pb2.NetworkPolicyPort], target: Pod | None
) -> tuple[PortMatch, ...] | None:
    """The numeric ports of a rule (named ones resolved in `target` when given, else left
    out); None when the rule names no port at all."""
    listed = list(ports)
    if not listed:
        return None
    out: list[PortMatch] = []
    for port in listed:
        protocol = port.protocol or "TCP"
        if not port.HasField("port"):
            out.append(PortMatch(protocol.lower()))
        elif port.port.HasField("str_val"):
            number = _named_port(target, port.port.str_val, protocol) if target else None
            if number is not None:
                out.append(PortMatch(protocol.lower(), number, number))
        else:
            low = port.port.int_val
            high = port.end_port if port.HasField("end_port") else low
            out.append(PortMatch(protocol.lower(), low, high))
    return tuple(sorted(set(out)))


def _peer_allows(
    world: _World,
    policy: Policy,
    peers: Iterable[networking_pb2.NetworkPolicyPeer],
    ports: tuple[PortMatch, ...] | None,
) -> list[Allow]:
    listed = list(peers)
    if not listed:
        return [Allow(None, ports)]
    out: list[Allow] = []
    ips: set[str] = set()
    for peer in listed:
        if peer.HasField("ip_block"):
            block = peer.ip_block
            out.append(Allow((block.cidr,), ports, tuple(block.except_)))
        else:
            ips.update(p.status.pod_ip for p in world.peer_pods(policy, peer))
    if ips:
        out.insert(0, Allow(tuple(sorted(ips)), ports))
    return out


def _ingress(world: _World, policy: Policy, pod: Pod) -> list[Allow]:
    out: list[Allow] = []
    for rule in policy.spec.ingress:
        ports = _ports(rule.ports, pod)
        if ports == ():
            continue  # every port it names is a name this pod does not declare
        out.extend(_peer_allows(world, policy, rule.from_, ports))
    return out


def _in_block(ip: str, block: networking_pb2.IPBlock) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        if address not in ipaddress.ip_network(block.cidr, strict=False):
            return False
        return not any(address in ipaddress.ip_network(e, strict=False) for e in block.except_)
    except ValueError:
        return False


def _egress(world: _World, policy: Policy) -> list[Allow]:
    out: list[Allow] = []
    for rule in policy.spec.egress:
        named: list[networking_pb2.NetworkPolicyPort] = []
        plain: list[networking_pb2.NetworkPolicyPort] = []
        for port in rule.ports:
            by_name = port.HasField("port") and port.port.HasField("str_val")
            (named if by_name else plain).append(port)
        if plain or not rule.ports:
            out.extend(_peer_allows(world, policy, rule.to, _ports(plain, None)))
        if not named:
            continue
        # A named port: reach only the peers' pods that declare it, at their number.
        candidates: list[Pod] = []
        if not rule.to:
            candidates = world.pods
        for peer in rule.to:
            if peer.HasField("ip_block"):
                candidates += [p for p in world.pods if _in_block(p.status.pod_ip, peer.ip_block)]
            else:
                candidates += world.peer_pods(policy, peer)
        by_port: dict[tuple[PortMatch, ...], set[str]] = {}
        for pod in candidates:
            ports = _ports(named, pod)
            if ports:
                by_port.setdefault(ports, set()).add(pod.status.pod_ip)
        for ports, ips in sorted(by_port.items()):
            out.append(Allow(tuple(sorted(ips)), ports))
    return out


def isolations(
    policies: Iterable[Policy],
    pods: Iterable[Pod],
    namespaces: Mapping[str, Mapping[str, str]],
    node: str,
) -> list[Isolation]:
    """Every pod of `node` that a policy isolates, with what it may receive and send,
    sorted by pod key so that the rendered rules do not change with listing order."""
    every = list(pods)
    world = _World(every, namespaces)
    by_namespace: dict[str, list[Policy]] = {}
    for policy in policies:
        by_namespace.setdefault(policy.metadata.namespace, []).append(policy)
    out: list[Isolation] = []
    for pod in every:
        if pod.spec.node_name != node or not _reachable(pod):
            continue
        ingress: list[Allow] | None = None
        egress: list[Allow] | None = None
        for policy in by_namespace.get(pod.metadata.namespace, []):
            where = f"{policy.metadata.namespace}/{policy.metadata.name}"
            chosen = _selector(policy.spec.pod_selector, where)
            if chosen is None or not chosen.matches(pod.metadata.labels):
                continue
            types = set(policy.spec.policy_types) or {"Ingress"}
            if "Ingress" in types:
                ingress = (ingress or []) + _ingress(world, policy, pod)
            if "Egress" in types:
                egress = (egress or []) + _egress(world, policy)
        if ingress is None and egress is None:
            continue
        out.append(
            Isolation(
                key=f"{pod.metadata.namespace}/{pod.metadata.name}",
                ip=pod.status.pod_ip,
                ingress=None if ingress is None else tuple(ingress),
                egress=None if egress is None else tuple(egress),
            )
        )
    return sorted(out, key=lambda i: i.key)

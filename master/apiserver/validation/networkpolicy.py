"""NetworkPolicies, checked as Kubernetes' networking validation does (v1.32).

The node agents that enforce policies (proxy/netpol*.py) turn every peer and port into
kernel rules, so what cannot become a rule is refused here, in Kubernetes' words: a peer
names something (pods, namespaces or an address block, and an address block alone), an
`except` lies strictly inside its `cidr`, a port range has a numeric start, and only
Ingress and Egress are policy types.
"""

from __future__ import annotations

import ipaddress

from client.names import is_port_name
from master.apiserver.validation.errors import Errors, index
from master.apiserver.validation.meta import validate_label_selector
from proto import networking_pb2

PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")
PORT_RANGE = "must be between 1 and 65535, inclusive"
CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def validate_network_policy(errs: Errors, policy: networking_pb2.NetworkPolicy) -> None:
    spec = policy.spec
    validate_label_selector(errs, spec.pod_selector, "spec.podSelector")
    directions = (
        ("ingress", "from", [(r.ports, r.from_) for r in spec.ingress]),
        ("egress", "to", [(r.ports, r.to) for r in spec.egress]),
    )
    for direction, peers_name, rules in directions:
        for i, (ports, peers) in enumerate(rules):
            at = index(f"spec.{direction}", i)
            for j, port in enumerate(ports):
                _port(errs, port, index(f"{at}.ports", j))
            for j, peer in enumerate(peers):
                _peer(errs, peer, index(f"{at}.{peers_name}", j))
    types = list(spec.policy_types)
    if len(types) > len(POLICY_TYPES):
        errs.invalid("spec.policyTypes", types, "may not specify more than two policyTypes")
        return
    for i, kind in enumerate(types):
        if kind not in POLICY_TYPES:
            errs.unsupported(index("spec.policyTypes", i), kind, POLICY_TYPES)


def _port(errs: Errors, port: networking_pb2.NetworkPolicyPort, path: str) -> None:
    if port.HasField("protocol") and port.protocol not in PROTOCOLS:
        errs.unsupported(f"{path}.protocol", port.protocol, PROTOCOLS)
    has_end = port.HasField("end_port")
    if not port.HasField("port"):
        if has_end:
            errs.invalid(
                f"{path}.endPort",
                port.end_port,
                "may not be specified when `port` is not specified",
            )
        return
    if port.port.HasField("str_val"):
        if has_end:
            errs.invalid(
                f"{path}.endPort", port.end_port, "may not be specified when `port` is non-numeric"
            )
        errs.invalid_each(f"{path}.port", port.port.str_val, is_port_name(port.port.str_val))
        return
    number = port.port.int_val
    if not 1 <= number <= 65535:
        errs.invalid(f"{path}.port", number, PORT_RANGE)
    if has_end:
        if port.end_port < number:
            errs.invalid(f"{path}.endPort", number, "must be greater than or equal to `port`")
        if not 1 <= port.end_port <= 65535:
            errs.invalid(f"{path}.endPort", port.end_port, PORT_RANGE)


def _peer(errs: Errors, peer: networking_pb2.NetworkPolicyPeer, path: str) -> None:
    named = 0
    if peer.HasField("pod_selector"):
        named += 1
        validate_label_selector(errs, peer.pod_selector, f"{path}.podSelector")
    if peer.HasField("namespace_selector"):
        named += 1
        validate_label_selector(errs, peer.namespace_selector, f"{path}.namespaceSelector")
    if peer.HasField("ip_block"):
        named += 1
        _ip_block(errs, peer.ip_block, f"{path}.ipBlock")
    if named == 0:
        errs.required(path, "must specify a peer")
    elif named > 1 and peer.HasField("ip_block"):
        errs.forbidden(path, "may not specify both ipBlock and another peer")


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _ip_block(errs: Errors, block: networking_pb2.IPBlock, path: str) -> None:
    if not block.cidr:
        errs.required(f"{path}.cidr")
        return
    outer = _network(block.cidr) if "/" in block.cidr else None
    if outer is None:
        errs.invalid(f"{path}.cidr", block.cidr, CIDR)
        return
    for i, text in enumerate(block.except_):
        at = index(f"{path}.except", i)
        inner = _network(text) if "/" in text else None
        if inner is None:
            errs.invalid(at, text, CIDR)
            continue
        inside = inner.version == outer.version and inner.network_address in outer
        if not inside or outer.prefixlen >= inner.prefixlen:
            errs.invalid(at, text, "must be a strict subset of `cidr`")

"""What a node's proxy serves, computed from Services and Endpoints alone.

This is the pure half of a sync: no sockets, no clock. Each Service port becomes one
`ServicePort` with the addresses to listen on (ClusterIP:port on every node, the node's
own address:nodePort for NodePort and LoadBalancer services, and each of the Service's
`externalIPs` at its port) and the ready endpoints behind it. Endpoint ports are matched
to service ports by name and protocol, as the Endpoints controller writes them (a
service port's `targetPort`, named or not, is already resolved to a number there, pod by
pod).

An endpoint knows whether it runs on this proxy's node (the Endpoints address's
`nodeName`), and a service port carries its traffic policies, because
`externalTrafficPolicy: Local` and `internalTrafficPolicy: Local` choose among the
node's own endpoints only. The nftables rules honour them; the userspace mode, like
Kubernetes' removed userspace proxy, does not (docs/networking.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from proto import core_pb2

__all__ = ["Backend", "Listen", "ServicePort", "build", "service_port_key"]

NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


@dataclass(frozen=True, order=True)
class Backend:
    """One ready endpoint of a service port."""

    ip: str
    port: int
    local: bool = False
    """It runs on this proxy's node (the address's nodeName is the proxy's)."""


@dataclass(frozen=True, order=True)
class Listen:
    """A socket the proxy holds: protocol ("TCP"/"UDP"), address and port."""

    protocol: str
    ip: str
    port: int


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, as the proxy serves it."""

    key: str
    """"ns/name" for a service's only unnamed port, else "ns/name:portname"."""
    service: str
    """"ns/name"."""
    port_name: str
    protocol: str
    cluster_ip: str
    port: int
    node_port: int
    affinity_timeout: float | None
    """Seconds a client IP sticks to its endpoint (sessionAffinity ClientIP), else None."""
    backends: tuple[Backend, ...]
    listens: tuple[Listen, ...]
    external_local: bool = False
    """externalTrafficPolicy Local: nodePort and external IP traffic from elsewhere goes
    to this node's endpoints only, keeping its source address, and is dropped when there
    are none."""
    internal_local: bool = False
    """internalTrafficPolicy Local: ClusterIP traffic goes to this node's endpoints only."""
    external_ips: tuple[str, ...] = ()
    """spec.externalIPs: addresses routed to the nodes from outside, served at `port`
    as outside traffic (the externalTrafficPolicy applies), as kube-proxy serves them."""

    @property
    def local_backends(self) -> tuple[Backend, ...]:
        return tuple(b for b in self.backends if b.local)


def service_port_key(service: str, port_name: str) -> str:
    """The name of a service port in logs and metrics."""
    return f"{service}:{port_name}" if port_name else service


def is_proxied(svc: core_pb2.Service) -> bool:
    """Headless services (and ExternalName ones) get DNS only, no listener."""
    ip = svc.spec.cluster_ip
    return bool(ip) and ip != "None" and svc.spec.type != "ExternalName"


def ready_backends(
    endpoints: core_pb2.Endpoints | None, port_name: str, protocol: str, node_name: str = ""
) -> tuple[Backend, ...]:
    """The ready addresses of every subset that has the named port, sorted, unique; those
    whose nodeName is `node_name` marked local."""
    if endpoints is None:
        return ()
    found: set[Backend] = set()
    for subset in endpoints.subsets:
        for p in subset.ports:
            if p.name == port_name and (p.protocol or "TCP") == protocol:
                found.update(
                    Backend(a.ip, p.port, local=bool(node_name) and a.node_name == node_name)
                    for a in subset.addresses
                    if a.ip
                )
    return tuple(sorted(found))


def build(
    services: Iterable[core_pb2.Service],
    endpoints: dict[str, core_pb2.Endpoints],
    node_address: str,
    node_name: str = "",
) -> dict[str, ServicePort]:
    """Every proxied service port by key; `endpoints` is keyed "ns/name" like services.
    Endpoints on `node_name` are the local ones of the traffic policies."""
    table: dict[str, ServicePort] = {}
    for svc in services:
        if not is_proxied(svc):
            continue
        name = f"{svc.metadata.namespace}/{svc.metadata.name}"
        spec = svc.spec
        timeout: float | None = None
        if spec.session_affinity == "ClientIP":
            cfg = spec.session_affinity_config.client_ip
            timeout = float(cfg.timeout_seconds) if cfg.HasField("timeout_seconds") else 10800.0
        for p in spec.ports:
            protocol = p.protocol or "TCP"
            if protocol not in ("TCP", "UDP"):
                continue  # SCTP: not proxied
            external_ips = tuple(dict.fromkeys(spec.external_ips))
            listens = [Listen(protocol, spec.cluster_ip, p.port)]
            if p.node_port and spec.type in NODE_PORT_TYPES and node_address:
                listens.append(Listen(protocol, node_address, p.node_port))
            listens += [Listen(protocol, ip, p.port) for ip in external_ips]
            key = service_port_key(name, p.name)
            table[key] = ServicePort(
                key=key,
                service=name,
                port_name=p.name,
                protocol=protocol,
                cluster_ip=spec.cluster_ip,
                port=p.port,
                node_port=p.node_port,
                affinity_timeout=timeout,
                backends=ready_backends(endpoints.get(name), p.name, protocol, node_name),
                listens=tuple(listens),
                external_local=spec.external_traffic_policy == "Local"
                and (spec.type in NODE_PORT_TYPES or bool(external_ips)),
                internal_local=spec.internal_traffic_policy == "Local",
                external_ips=external_ips,
            )
    return table

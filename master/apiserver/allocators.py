"""ClusterIP and NodePort allocation, persisted in etcd so that API servers never clash.

Every master runs an API server and they are active-active, so an allocation cannot
live in one server's memory. Each allocated address and port is one etcd key:

    /registry/ranges/serviceips/<ip>          value: "<namespace>/<name>" of the Service
    /registry/ranges/servicenodeports/<port>  value: likewise

and the keys a Service needs are created in the same transaction as the Service itself,
each guarded by "this key does not exist yet". Two API servers that pick the same free
address at the same moment cannot both commit: the loser's transaction fails and it
picks again. Deleting the Service deletes its keys in the same transaction as well.

Defaults, and why: ClusterIPs come from 172.30.255.0/24, the last /24 of the default
cluster CIDR (172.30.0.0/16, the project's own pod network), which node IPAM keeps out
of the podCIDRs it hands out; 172.30.255.10 is the cluster DNS address and is never
handed to a Service. NodePorts come from Kubernetes' 30000-32767. Both ranges are API
server flags (`--service-cluster-ip-range`, `--service-node-port-range`); see
docs/networking.md. A LoadBalancer with `externalTrafficPolicy: Local` also holds its
`healthCheckNodePort` from the same range and under the same keys, since every node
listens on it as on a nodePort.

A value the user chose is checked like Kubernetes checks it, with its wording: outside
the range, or already allocated, is Invalid naming the field.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field
from typing import Any

from client.codec import FieldError
from client.kinds import by_resource
from master.apiserver.apierrors import invalid
from master.apiserver.etcd import Etcd, compare_version, op_delete, op_put, prefix_end
from master.apiserver.validation.service import needs_health_check
from proto import core_pb2

__all__ = [
    "DEFAULT_CLUSTER_DNS_IP",
    "DEFAULT_NODE_PORT_RANGE",
    "DEFAULT_SERVICE_RANGE",
    "Claim",
    "ServiceAllocator",
]

DEFAULT_SERVICE_RANGE = "172.30.255.0/24"
DEFAULT_CLUSTER_DNS_IP = "172.30.255.10"
DEFAULT_NODE_PORT_RANGE = (30000, 32767)
IP_PREFIX = b"/registry/ranges/serviceips/"
PORT_PREFIX = b"/registry/ranges/servicenodeports/"
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")
SERVICES = by_resource("services")


@dataclass
class Claim:
    """What one write of a Service adds to its transaction."""

    compares: list[Any] = field(default_factory=list)
    """version(key) == 0 for every key this write creates."""
    ops: list[Any] = field(default_factory=list)
    """Puts of the new keys, deletes of the released ones."""
    created: list[bytes] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ops)


def _owner(svc: core_pb2.Service) -> bytes:
    return f"{svc.metadata.namespace}/{svc.metadata.name}".encode()


def _ip_key(ip: str) -> bytes:
    return IP_PREFIX + ip.encode()


def _port_key(port: int) -> bytes:
    return PORT_PREFIX + str(port).encode()


def parse_node_port_range(text: str) -> tuple[int, int]:
    """"30000-32767" as a pair; ValueError naming the problem."""
    low, sep, high = text.partition("-")
    if not sep or not low.isdigit() or not high.isdigit():
        raise ValueError(f"{text!r} is not a port range like 30000-32767")
    pair = (int(low), int(high))
    if not 1 <= pair[0] <= pair[1] <= 65535:
        raise ValueError(f"{text!r} is not a port range within 1-65535")
    return pair


def held_keys(svc: core_pb2.Service | None) -> set[bytes]:
    if svc is None:
        return set()
    found = set()
    if svc.spec.cluster_ip and svc.spec.cluster_ip != "None":
        found.add(_ip_key(svc.spec.cluster_ip))
    if svc.spec.type in NODE_PORT_TYPES:
        found.update(_port_key(p.node_port) for p in svc.spec.ports if p.node_port)
    if needs_health_check(svc) and svc.spec.health_check_node_port:
        found.add(_port_key(svc.spec.health_check_node_port))
    return found


def release_ops(svc: Any, keep: core_pb2.Service | None = None) -> list[Any]:
    """Deletes of the allocation keys `svc` holds (except those `keep` still uses).

    Anything but a Service holds none, so callers may pass any object.
    """
    if not isinstance(svc, core_pb2.Service):
        return []
    return [op_delete(k) for k in sorted(held_keys(svc) - held_keys(keep))]


def keep_allocated(new: Any, old: Any) -> None:
    """On update, keep what `old` was given where `new` leaves it unset (as Kubernetes does).

    The clusterIP, the nodePort of each port that keeps its port and protocol, and the
    healthCheckNodePort while the Service still needs one.
    """
    if not isinstance(new, core_pb2.Service) or not isinstance(old, core_pb2.Service):
        return
    if not new.spec.cluster_ip and old.spec.cluster_ip and new.spec.type != "ExternalName":
        new.spec.cluster_ip = old.spec.cluster_ip
        if not new.spec.cluster_ips:
            new.spec.cluster_ips.extend(old.spec.cluster_ips)
    if new.spec.type in NODE_PORT_TYPES and old.spec.type in NODE_PORT_TYPES:
        given = {(p.port, p.protocol or "TCP"): p.node_port for p in old.spec.ports}
        for p in new.spec.ports:
            if not p.node_port:
                p.node_port = given.get((p.port, p.protocol or "TCP"), 0)
    if needs_health_check(new) and needs_health_check(old) and not new.spec.health_check_node_port:
        new.spec.health_check_node_port = old.spec.health_check_node_port


class ServiceAllocator:
    """Chooses and checks ClusterIPs and NodePorts; the registry writes what it claims."""

    def __init__(
        self,
        etcd: Etcd,
        service_range: str = DEFAULT_SERVICE_RANGE,
        node_ports: tuple[int, int] = DEFAULT_NODE_PORT_RANGE,
        reserved: tuple[str, ...] = (DEFAULT_CLUSTER_DNS_IP,),
    ) -> None:
        self.etcd = etcd
        self.network = ipaddress.IPv4Network(service_range, strict=False)
        self.node_ports = node_ports
        self.reserved = {ip for ip in reserved if ip and ipaddress.ip_address(ip) in self.network}

    async def _taken(self, prefix: bytes) -> dict[str, bytes]:
        resp = await self.etcd.range(prefix, prefix_end(prefix))
        return {bytes(kv.key[len(prefix) :]).decode(): bytes(kv.value) for kv in resp.kvs}

    async def claim(self, svc: Any, old: Any = None) -> Claim:
        """Fill svc's clusterIP and nodePorts (kept from `old` on update) and claim them.

        Raises Invalid naming the field when a chosen value is out of range or taken,
        and Invalid on spec.clusterIP when the range is full. Not a Service: no claim.
        """
        claim = Claim()
        if not isinstance(svc, core_pb2.Service):
            return claim
        owner = _owner(svc)
        spec = svc.spec
        if (
            old is not None
            and not spec.cluster_ip
            and old.spec.cluster_ip
            and spec.type != "ExternalName"
        ):
            spec.cluster_ip = old.spec.cluster_ip
        problems: list[FieldError] = []
        if spec.type != "ExternalName" and spec.cluster_ip != "None":
            await self._claim_ip(svc, owner, claim, problems)
        if spec.cluster_ip and not spec.cluster_ips:
            spec.cluster_ips.append(spec.cluster_ip)
        await self._claim_ports(svc, old, owner, claim, problems)
        if old is not None:
            claim.ops.extend(self.release(old, keep=svc))
        if problems:
            raise invalid(SERVICES, svc.metadata.name, problems)
        return claim

    async def _claim_ip(
        self, svc: core_pb2.Service, owner: bytes, claim: Claim, problems: list[FieldError]
    ) -> None:
        spec = svc.spec
        taken = await self._taken(IP_PREFIX)
        if spec.cluster_ip:
            ip = spec.cluster_ip
            if taken.get(ip) == owner:
                return
            if ipaddress.ip_address(ip) not in self.network:
                problems.append(FieldError("spec.clusterIP", (
                    f'Invalid value: "{ip}": provided IP is not in the valid range. '
                    f"The range of valid IPs is {self.network}"
                )))
                return
            if ip in taken or ip in self.reserved or ip in (
                str(self.network.network_address), str(self.network.broadcast_address)
            ):
                problems.append(FieldError(
                    "spec.clusterIP", f'Invalid value: "{ip}": provided IP is already allocated'
                ))
                return
        else:
            free = [
                str(h) for h in self.network.hosts()
                if str(h) not in taken and str(h) not in self.reserved
            ]
            if not free:
                problems.append(FieldError(
                    "spec.clusterIP",
                    f"Internal error: failed to allocate a serviceIP: range {self.network} is full",
                ))
                return
            # Random, not lowest-first: concurrent API servers then rarely pick the same.
            ip = random.choice(free)
            spec.cluster_ip = ip
        key = _ip_key(ip)
        claim.compares.append(compare_version(key, "==", 0))
        claim.ops.append(op_put(key, owner))
        claim.created.append(key)

    async def _claim_ports(
        self,
        svc: core_pb2.Service,
        old: core_pb2.Service | None,
        owner: bytes,
        claim: Claim,
        problems: list[FieldError],
    ) -> None:
        spec = svc.spec
        if spec.type not in NODE_PORT_TYPES:
            return
        taken = await self._taken(PORT_PREFIX)
        previous: dict[tuple[int, str], int] = {}
        if old is not None and old.spec.type in NODE_PORT_TYPES:
            previous = {(p.port, p.protocol): p.node_port for p in old.spec.ports if p.node_port}
        mine: set[int] = set()
        # allocateLoadBalancerNodePorts false: only the nodePorts given (or kept) are held.
        choose = (
            spec.type != "LoadBalancer"
            or spec.allocate_load_balancer_node_ports
            or not spec.HasField("allocate_load_balancer_node_ports")
        )
        for i, p in enumerate(spec.ports):
            if not p.node_port and (p.port, p.protocol) in previous:
                p.node_port = previous[(p.port, p.protocol)]
            if not p.node_port and not choose:
                continue
            p.node_port = self._claim_port(
                p.node_port, f"spec.ports[{i}].nodePort", taken, mine, owner, claim, problems
            )
        if needs_health_check(svc):
            spec.health_check_node_port = self._claim_port(
                spec.health_check_node_port,
                "spec.healthCheckNodePort",
                taken,
                mine,
                owner,
                claim,
                problems,
            )

    def _claim_port(
        self,
        n: int,
        path: str,
        taken: dict[str, bytes],
        mine: set[int],
        owner: bytes,
        claim: Claim,
        problems: list[FieldError],
    ) -> int:
        """Port `n` (0: a free one) claimed for `owner`; 0 with a problem when it cannot be."""
        low, high = self.node_ports
        if n:
            if taken.get(str(n)) == owner or n in mine:
                mine.add(n)
                return n
            if not low <= n <= high:
                problems.append(FieldError(path, (
                    f"Invalid value: {n}: provided port is not in the valid range. "
                    f"The range of valid ports is {low}-{high}"
                )))
                return n
            if str(n) in taken:
                problems.append(
                    FieldError(path, f"Invalid value: {n}: provided port is already allocated")
                )
                return n
        else:
            free = [n for n in range(low, high + 1) if str(n) not in taken and n not in mine]
            if not free:
                problems.append(FieldError(
                    path, f"Internal error: failed to allocate a nodePort: range {low}-{high} "
                    "is full",
                ))
                return 0
            n = random.choice(free)
        mine.add(n)
        key = _port_key(n)
        claim.compares.append(compare_version(key, "==", 0))
        claim.ops.append(op_put(key, owner))
        claim.created.append(key)
        return n

    def release(self, svc: core_pb2.Service, keep: core_pb2.Service | None = None) -> list[Any]:
        """Deletes of the keys `svc` holds (except those `keep` still uses)."""
        return release_ops(svc, keep)

    async def lost(self, claim: Claim) -> bool:
        """Whether a key this claim meant to create exists now (another writer took it)."""
        for key in claim.created:
            kv, _ = await self.etcd.get(key)
            if kv is not None:
                return True
        return False

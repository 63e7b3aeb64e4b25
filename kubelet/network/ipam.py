"""The kubelet's pod IPAM: pod IPs from this node's podCIDR, one per sandbox.

Docker would pick addresses itself, but on one machine every node shares the engine and
the project's network, whose subnet is the whole cluster CIDR: Docker cannot know which
part of it belongs to which node. So each kubelet chooses its sandboxes' addresses from
its own node's podCIDR, and puts them on its sandboxes itself (veth.py) or hands them to
Docker explicitly.

The allocator keeps no state of its own across restarts. The runtime reports which
addresses its node's sandboxes hold (`observe`), and only allocations not yet visible
there are remembered (`pending`), so a restarted kubelet recovers everything from the
containers it finds. Allocation is next-fit (the address after the last one given), so an
address just freed is not handed out again at once, as Kubernetes' allocators do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

__all__ = ["IPAMError", "PodIPAM", "docker_range", "pod_network", "usable_hosts"]


class IPAMError(Exception):
    """A bad podCIDR, or no free address left in it."""


def _network(cidr: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError as e:
        raise IPAMError(f"podCIDR {cidr!r} is not a network: {e}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise IPAMError(f"podCIDR {cidr!r}: only IPv4 pod networks are supported")
    if net.num_addresses < 4:
        raise IPAMError(f"podCIDR {cidr!r} is too small for pods (at least a /30)")
    return net


def pod_network(cluster_cidr: str, service_range: str) -> str:
    """The pod bridge's subnet: the largest block of the cluster CIDR clear of the service range.

    A pod treats its whole subnet as on-link, so a ClusterIP inside it would be looked
    for on the bridge instead of going through the gateway to the proxy. With the
    defaults (172.30.0.0/16, services 172.30.255.0/24) this is 172.30.0.0/17: room for
    128 nodes of /24.
    """
    try:
        net = ipaddress.IPv4Network(cluster_cidr, strict=True)
    except ValueError as e:
        raise IPAMError(f"--cluster-cidr: {cluster_cidr!r} is not an IPv4 network: {e}") from None
    if not service_range:
        return str(net)
    try:
        services = ipaddress.IPv4Network(service_range, strict=False)
    except ValueError as e:
        raise IPAMError(f"--service-cluster-ip-range: {service_range!r}: {e}") from None
    for prefix in range(net.prefixlen, 31):
        for sub in net.subnets(new_prefix=prefix):
            if not sub.overlaps(services):
                return str(sub)
    raise IPAMError(f"--cluster-cidr {cluster_cidr} has no room outside {service_range}")


def docker_range(subnet: str) -> str:
    """Where Docker picks addresses itself (--pod-cidr-mode docker): the subnet's last /24,
    which node IPAM hands out last."""
    net = ipaddress.IPv4Network(subnet, strict=True)
    return str(list(net.subnets(new_prefix=max(net.prefixlen, 24)))[-1])


def usable_hosts(cidr: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The first and last address pods may get: not the network, gateway (.1) or broadcast."""
    net = _network(cidr)
    return net.network_address + 2, net.broadcast_address - 1


class PodIPAM:
    """Allocates pod IPs within one podCIDR."""

    def __init__(self, pod_cidr: str, *, reserved: Iterable[str] = ()) -> None:
        self.network = _network(pod_cidr)
        self.pod_cidr = str(self.network)
        self._first, self._last = usable_hosts(pod_cidr)
        self._reserved = {ipaddress.IPv4Address(a) for a in reserved}
        """Addresses never given out (the shared bridge's gateway, for instance)."""
        self._observed: dict[ipaddress.IPv4Address, str] = {}
        self._pending: dict[str, ipaddress.IPv4Address] = {}
        self._cursor = self._last
        """The last address handed out; the next search starts after it."""

    @property
    def capacity(self) -> int:
        """How many addresses pods can get."""
        n = int(self._last) - int(self._first) + 1
        return n - sum(1 for a in self._reserved if self._first <= a <= self._last)

    def contains(self, ip: str) -> bool:
        """Whether `ip` lies in this podCIDR."""
        try:
            return ipaddress.IPv4Address(ip) in self.network
        except ValueError:
            return False

    def observe(self, in_use: Mapping[str, str]) -> None:
        """The addresses (ip -> owner) the runtime's sandboxes hold now; others are free."""
        self._observed = {}
        for ip, owner in in_use.items():
            if ip and self.contains(ip):
                self._observed[ipaddress.IPv4Address(ip)] = owner
        seen = set(self._observed.values())
        # A pending allocation that the runtime now reports is settled.
        for owner in [o for o in self._pending if o in seen]:
            del self._pending[owner]

    def in_use(self) -> dict[str, str]:
        """Every address held, observed or pending: ip -> owner."""
        held = {str(ip): owner for ip, owner in self._observed.items()}
        held.update({str(ip): owner for owner, ip in self._pending.items()})
        return held

    def allocate(self, owner: str) -> str:
        """A free address for `owner` (the same one if it holds one already)."""
        if owner in self._pending:
            return str(self._pending[owner])
        for ip, holder in self._observed.items():
            if holder == owner:
                return str(ip)
        taken = set(self._observed) | set(self._pending.values()) | self._reserved
        span = int(self._last) - int(self._first) + 1
        start = int(self._cursor) + 1
        for step in range(span):
            candidate = ipaddress.IPv4Address(
                int(self._first) + (start - int(self._first) + step) % span
            )
            if candidate not in taken:
                self._pending[owner] = candidate
                self._cursor = candidate
                return str(candidate)
        raise IPAMError(
            f"podCIDR {self.pod_cidr} is full: all {self.capacity} pod addresses are in use"
        )

    def release(self, owner: str) -> None:
        """Forget `owner`'s pending address (its sandbox was never created)."""
        self._pending.pop(owner, None)

    def taken_elsewhere(self, ip: str) -> None:
        """The runtime refused `ip` as in use by something this IPAM does not see."""
        address = ipaddress.IPv4Address(ip)
        for owner in [o for o, a in self._pending.items() if a == address]:
            del self._pending[owner]
        self._observed.setdefault(address, "<unknown>")

"""Node IPAM: give every Node a `spec.podCIDR` carved out of the cluster CIDR.

The cluster CIDR (`--cluster-cidr`, default 172.30.0.0/16) is cut into ranges of
`--node-cidr-mask-size` (default /24); a node without a podCIDR gets the lowest range no
other node holds. The ranges in use are read from the Nodes themselves, so a restarted
or newly elected controller manager picks up where the last one stopped; a node's range
is free again once the node is deleted. One worker, so two nodes never get the same
range from one process; the write is guarded by the node's resourceVersion.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

import structlog

from client.errors import Conflict, NotFound
from client.informer import copy_object
from master.controllers.base import Context, Controller

log = structlog.get_logger("controllers.nodeipam")


class CIDRError(ValueError):
    """A bad --cluster-cidr or --node-cidr-mask-size."""


def node_ranges(cluster_cidr: str, mask: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The cluster network, checked against the per-node mask size."""
    try:
        network = ipaddress.ip_network(cluster_cidr, strict=True)
    except ValueError as e:
        raise CIDRError(f"--cluster-cidr: {cluster_cidr!r} is not a network: {e}") from None
    if not network.prefixlen <= mask <= network.max_prefixlen:
        raise CIDRError(
            f"--node-cidr-mask-size: {mask} must be between the cluster CIDR's prefix "
            f"length ({network.prefixlen}) and {network.max_prefixlen}"
        )
    return network


def first_free(cluster_cidr: str, mask: int, used: Iterable[str]) -> str | None:
    """The lowest /mask range of the cluster CIDR not in `used`, or None when all are."""
    network = node_ranges(cluster_cidr, mask)
    taken = set(used)
    subnets: Iterator[ipaddress.IPv4Network | ipaddress.IPv6Network] = network.subnets(
        new_prefix=mask
    )
    for subnet in subnets:
        if str(subnet) not in taken:
            return str(subnet)
    return None


def _overlapping(cluster_cidr: str, mask: int, service_range: str) -> set[str]:
    """The node ranges that overlap the service range: never handed out."""
    if not service_range:
        return set()
    services = ipaddress.ip_network(service_range, strict=False)
    network = node_ranges(cluster_cidr, mask)
    if not network.overlaps(services):
        return set()
    return {str(n) for n in network.subnets(new_prefix=mask) if n.overlaps(services)}


class NodeIpamController(Controller):
    """Allocates node podCIDRs."""

    name = "nodeipam"
    component = "node-ipam-controller"
    max_workers = 1
    """Allocations must not race each other."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        node_ranges(ctx.settings.cluster_cidr, ctx.settings.node_cidr_mask_size)
        self.nodes = ctx.informers.get("nodes")
        self._given: dict[str, str] = {}
        """node -> range we wrote and the cache may not show yet."""
        self.nodes.add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))

    async def sync(self, key: str) -> None:
        """Give node `key` a podCIDR if it has none."""
        node = self.nodes.get(key)
        if node is None:
            self._given.pop(key, None)
            return
        if node.spec.pod_cidr:
            self._given.pop(key, None)
            return
        used = {n.spec.pod_cidr for n in self.nodes.list(copy=False) if n.spec.pod_cidr}
        used |= {cidr for name, cidr in self._given.items() if name != key}
        used |= _overlapping(
            self.settings.cluster_cidr,
            self.settings.node_cidr_mask_size,
            self.settings.service_cluster_ip_range,
        )
        cidr = first_free(self.settings.cluster_cidr, self.settings.node_cidr_mask_size, used)
        if cidr is None:
            log.error("cluster CIDR exhausted", node=key, cluster_cidr=self.settings.cluster_cidr)
            await self.events.record(
                node, "Warning", "CIDRNotAvailable", "Node has no CIDR available to allocate"
            )
            return
        fresh = copy_object(node)
        fresh.spec.pod_cidr = cidr
        try:
            await self.client.update(fresh)
        except NotFound:
            return
        except Conflict:
            raise  # retried with back-off on the newer node
        self._given[key] = cidr
        log.info("allocated pod CIDR", node=key, pod_cidr=cidr)
        await self.events.record(node, "Normal", "CIDRAssignmentSucceeded", f"Assigned {cidr}")

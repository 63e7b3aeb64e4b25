"""Node IPAM: give every Node a `spec.podCIDR` carved out of the cluster CIDR.

The cluster CIDR (`--cluster-cidr`, default 172.30.0.0/16) is cut into ranges of
`--node-cidr-mask-size` (default /24); a node without a podCIDR gets the lowest range no
other node holds. Which ranges are held is kept in a `CIDRSet` (cidrset.py) that the
node informer's handlers fill in, as Kubernetes' range allocator does, so an allocation
costs no walk over every Node. The ranges in use are read from the Nodes themselves, so
a restarted or newly elected controller manager picks up where the last one stopped; a
node's range is free again once the node is deleted. A range is reserved for a node the
moment it is chosen, before the write, so many workers can write side by side and never
hand out one range twice; the write is guarded by the node's resourceVersion.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog

from client.errors import Conflict, NotFound
from client.informer import copy_object
from master.controllers.base import Context, Controller
from master.controllers.cidrset import CIDRError, CIDRSet, node_ranges

__all__ = ["CIDRError", "NodeIpamController", "first_free", "node_ranges"]

log = structlog.get_logger("controllers.nodeipam")


def first_free(cluster_cidr: str, mask: int, used: Iterable[str]) -> str | None:
    """The lowest /mask range of the cluster CIDR not in `used`, or None when all are."""
    cidrs = CIDRSet(cluster_cidr, mask)
    for cidr in used:
        cidrs.occupy(cidr)
    return cidrs.allocate()


def _overlapping(cluster_cidr: str, mask: int, service_range: str) -> set[str]:
    """The node ranges that overlap the service range: never handed out."""
    cidrs = CIDRSet(cluster_cidr, mask, reserve=service_range)
    return {cidrs.cidr(i) for i in cidrs.reserved}


class NodeIpamController(Controller):
    """Allocates node podCIDRs."""

    name = "nodeipam"
    component = "node-ipam-controller"
    update_workers = 30
    """Syncs at once (Kubernetes' cidrUpdateWorkers): each is mostly one API write, and
    one at a time left 5,000 nodes waiting minutes on a loaded API server."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.cidrs = CIDRSet(
            ctx.settings.cluster_cidr,
            ctx.settings.node_cidr_mask_size,
            reserve=ctx.settings.service_cluster_ip_range,
        )
        self.nodes = ctx.informers.get("nodes")
        self._ranges: dict[str, str] = {}
        """node -> the range it holds: its podCIDR in the cache, or ours written or about
        to be (the cache may not show it yet; a Conflict retry reuses it)."""
        self._holders: dict[str, int] = {}
        """range -> how many nodes hold it (more than one only if someone else wrote
        duplicates): it is free again when the last one lets go."""
        self.nodes.add_handler(
            on_add=self._observe,
            on_update=lambda _old, new: self._observe(new),
            on_delete=self._forget,
        )

    def _workers(self) -> int:
        # Syncs may run side by side: the work queue never hands one node to two workers
        # at once (client/workqueue.py), and a sync picks and reserves its range with no
        # await in between, so two workers in this event loop never pick the same one.
        return self.update_workers

    def _observe(self, node: Any) -> None:
        if node.spec.pod_cidr:
            self._hold(node.metadata.name, node.spec.pod_cidr)
        self.enqueue(node)

    def _forget(self, node: Any) -> None:
        self._drop(node.metadata.name)
        self.enqueue(node)

    def _hold(self, name: str, cidr: str) -> None:
        """Node `name` holds `cidr` (ours to track or not) and no other range."""
        i = self.cidrs.index(cidr)
        held = None if i is None else self.cidrs.cidr(i)
        if self._ranges.get(name) == held:
            return
        self._drop(name)
        if held is not None:
            self._ranges[name] = held
            self._holders[held] = self._holders.get(held, 0) + 1
            self.cidrs.occupy(held)

    def _drop(self, name: str) -> None:
        """Node `name` holds nothing; its range is free unless another node holds it."""
        cidr = self._ranges.pop(name, None)
        if cidr is None:
            return
        left = self._holders[cidr] - 1
        if left:
            self._holders[cidr] = left
        else:
            del self._holders[cidr]
            self.cidrs.release(cidr)

    def _reserve(self, name: str) -> str | None:
        """The range reserved for node `name`, chosen now if it has none; None if full."""
        cidr = self._ranges.get(name)
        if cidr is None:
            cidr = self.cidrs.allocate()
            if cidr is None:
                return None
            self._ranges[name] = cidr
            self._holders[cidr] = 1
        return cidr

    async def sync(self, key: str) -> None:
        """Give node `key` a podCIDR if it has none."""
        node = self.nodes.get(key)
        if node is None:
            self._drop(key)
            return
        if node.spec.pod_cidr:
            return
        cidr = self._reserve(key)
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
            self._drop(key)
            return
        except Conflict:
            raise  # retried with back-off on the newer node, with the range kept for it
        log.info("allocated pod CIDR", node=key, pod_cidr=cidr)
        await self.events.record(node, "Normal", "CIDRAssignmentSucceeded", f"Assigned {cidr}")

"""Which ranges of the cluster CIDR are taken: node IPAM's ledger, kept between syncs.

Asking every Node which range it holds on every allocation costs O(nodes) per node, and
O(n²) while a 5,000-node cluster starts. Kubernetes' range allocator instead keeps a
bitmap over the cluster CIDR (pkg/controller/nodeipam/ipam/cidrset) that its informer
handlers fill in. `CIDRSet` is that ledger: the cluster CIDR is cut into /mask ranges
numbered 0, 1, 2, ... by address, a range is its index, and a taken range is an index
in a set. Finding the lowest free range is integer arithmetic from a "lowest possibly
free" hint (below it every range is taken), so allocating one after another is O(1)
each; no `ipaddress` subnet is enumerated, even in a 10.0.0.0/8 of /24s.

The ranges overlapping the service range are kept out at construction as one interval
of indices: only the overlap is computed, never the list of every subnet.
"""

from __future__ import annotations

import ipaddress

__all__ = ["CIDRError", "CIDRSet", "node_ranges"]


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


class CIDRSet:
    """The /`mask` ranges of `cluster_cidr`, which are taken, and the lowest free one.

    `reserve` (the service range) keeps the ranges it overlaps from ever being allocated.
    One event loop only: nothing here awaits, so a caller that allocates and records in
    one step cannot be interleaved with another.
    """

    def __init__(self, cluster_cidr: str, mask: int, *, reserve: str = "") -> None:
        network = node_ranges(cluster_cidr, mask)
        self.network = network
        self.mask = mask
        self.size = 1 << (mask - network.prefixlen)
        """How many ranges the cluster CIDR holds."""
        self._address = type(network.network_address)
        self._base = int(network.network_address)
        self._shift = network.max_prefixlen - mask
        """log2 of the addresses in one range: index = (address - base) >> shift."""
        self._taken: set[int] = set()
        self._hint = 0
        """Every index below it is taken or reserved."""
        self.reserved = self._overlap(reserve)
        """Indices of the ranges overlapping `reserve`: never allocated."""

    def _overlap(self, reserve: str) -> range:
        if not reserve:
            return range(0)
        other = ipaddress.ip_network(reserve, strict=False)
        if other.version != self.network.version:
            return range(0)
        last = self._base + (self.size << self._shift) - 1
        low = max(int(other.network_address), self._base)
        high = min(int(other.broadcast_address), last)
        if low > high:
            return range(0)
        return range((low - self._base) >> self._shift, ((high - self._base) >> self._shift) + 1)

    def index(self, cidr: str) -> int | None:
        """The index of range `cidr`; None if it is no network, outside, or another size.

        Host bits are ignored ("10.0.1.5/24" is 10.0.1.0/24), as the API server accepts a
        podCIDR written so: the range it names is in use all the same.
        """
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if net.version != self.network.version or net.prefixlen != self.mask:
            return None
        offset = int(net.network_address) - self._base
        if offset < 0:
            return None
        i = offset >> self._shift
        return i if i < self.size else None

    def cidr(self, index: int) -> str:
        """The range at `index`, as "10.0.3.0/24"."""
        return f"{self._address(self._base + (index << self._shift))}/{self.mask}"

    def __len__(self) -> int:
        """Ranges taken (the reserved ones not counted unless a node holds one)."""
        return len(self._taken)

    def __contains__(self, cidr: object) -> bool:
        """Whether range `cidr` is taken or reserved."""
        i = self.index(cidr) if isinstance(cidr, str) else None
        return i is not None and (i in self._taken or i in self.reserved)

    def occupy(self, cidr: str) -> bool:
        """Mark `cidr` taken; False (and nothing marked) if it is not one of our ranges."""
        i = self.index(cidr)
        if i is None:
            return False
        self._taken.add(i)
        return True

    def release(self, cidr: str) -> None:
        """Make `cidr` free again (unless reserved); one that is not ours is ignored."""
        i = self.index(cidr)
        if i is None:
            return
        self._taken.discard(i)
        self._hint = min(self._hint, i)

    def allocate(self) -> str | None:
        """Take the lowest free range and return it; None when every range is taken."""
        i = self._hint
        # Each step passes a taken index or jumps the reserved interval, so a run of
        # allocations walks every index at most once between releases.
        while i < self.size:
            if i in self.reserved:
                i = self.reserved.stop
            elif i in self._taken:
                i += 1
            else:
                self._taken.add(i)
                self._hint = i + 1
                return self.cidr(i)
        self._hint = self.size
        return None

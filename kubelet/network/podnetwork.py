"""The node's pod network from the Nodes: its own podCIDR, and host-gw routes to the others.

One Node informer per kubelet process. Every change wakes a level-triggered sync that
hands this node's `spec.podCIDR` to the runtime (which allocates pod IPs from it) and,
with host-gw on, makes the host's routes match the other nodes' podCIDRs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from client.api import ApiClient
from client.informer import Informer
from client.timeouts import within
from kubelet.network.routes import RouteError, RouteTable, desired_routes
from proto import core_pb2

__all__ = ["NetworkSettings", "PodNetwork"]

log = structlog.get_logger("kubelet.network.podnetwork")


@dataclass(frozen=True)
class NetworkSettings:
    """How the kubelet gives pods their addresses (the tug-kubelet flags)."""

    pod_cidr_mode: str = "node"
    """node: from the Node's spec.podCIDR, waiting for it; docker: Docker picks them."""
    sandbox_network: str = "veth"
    """In node mode, how a sandbox joins the bridge: veth (kubelet/network/veth.py) or
    docker (a Docker endpoint)."""
    cluster_cidr: str = "172.30.0.0/16"
    """The controller manager's --cluster-cidr."""
    service_range: str = "172.30.255.0/24"
    """The API server's --service-cluster-ip-range: kept off the pod bridge."""
    host_gw: bool = False
    """Separate hosts: the bridge is the podCIDR; other podCIDRs routed via their nodes."""
    cluster_dns_wait: float = 0.0
    """Seconds after start during which sandboxes wait for the cluster DNS address to be
    on this host (the node's proxy puts it there); 0: never wait."""


class PodNetwork:
    """Follows the Nodes; tells the runtime its podCIDR and keeps host-gw routes."""

    def __init__(
        self,
        api: ApiClient,
        node: str,
        on_pod_cidr: Callable[[str], None],
        *,
        routes: RouteTable | None = None,
        cluster_cidr: str = "172.30.0.0/16",
        resync_period: float = 5.0,
    ) -> None:
        self.node = node
        self.nodes: Informer[core_pb2.Node] = Informer(api, "nodes")
        self._on_pod_cidr = on_pod_cidr
        self._routes = routes
        self._cluster_cidr = cluster_cidr
        self._resync = resync_period
        self._wake = asyncio.Event()
        self.pod_cidr = ""
        self.log = log.bind(node=node)
        self.nodes.add_handler(
            lambda _n: self._wake.set(),
            lambda _o, _n: self._wake.set(),
            lambda _n: self._wake.set(),
        )

    async def run(self) -> None:
        """Sync on every Node change and every resync period, until cancelled."""
        self.nodes.start()
        try:
            await self.nodes.wait_synced()
            waiting_logged = False
            while True:
                self._wake.clear()
                await self.sync()
                if not self.pod_cidr and not waiting_logged:
                    self.log.info(
                        "waiting for the node's spec.podCIDR (node IPAM in the controller "
                        "manager) before starting pods"
                    )
                    waiting_logged = True
                try:
                    await within(self._wake.wait(), self._resync)
                except TimeoutError:
                    pass
        finally:
            await self.nodes.stop()

    async def sync(self) -> None:
        """One step: the podCIDR to the runtime, the routes to the host."""
        me = self.nodes.get(self.node, copy=False)
        cidr = me.spec.pod_cidr if me is not None else ""
        if cidr and cidr != self.pod_cidr:
            self.log.info("node podCIDR", pod_cidr=cidr, previous=self.pod_cidr or None)
            self.pod_cidr = cidr
            self._on_pod_cidr(cidr)
        if self._routes is not None:
            try:
                if self.pod_cidr:
                    await self._routes.ensure_firewall(self.pod_cidr, self._cluster_cidr)
                await self._routes.sync(desired_routes(self.nodes.list(copy=False), self.node))
            except RouteError as e:
                self.log.warning("listing routes failed", error=str(e))

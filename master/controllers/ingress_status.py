"""Ingress status: `status.loadBalancer.ingress` lists the ready nodes' addresses.

Tugboat's ingress controller runs in every node's proxy and answers on each node's own
address, so, as for LoadBalancer Services (service_lb.py), the honest load balancer is
the set of nodes that can take traffic now: the InternalIP of every Ready node. The
status is written here, once, by the leader-elected controller manager, rather than by
the proxies: N proxies writing one list would race each other on every node change, and
each would need write access to Ingresses. Only Ingresses of a Tugboat IngressClass
(client/ingresses.py) are touched: another controller's Ingress keeps its status.
"""

from __future__ import annotations

from typing import Any

import structlog

from client import ingresses, kinds
from master.controllers.base import Context, Controller
from master.controllers.service_lb import ingress_addresses, write_ingress

__all__ = ["IngressStatusController"]

log = structlog.get_logger("controllers.ingress_status")


class IngressStatusController(Controller):
    """Keeps each Tugboat Ingress' load-balancer ingress equal to the ready nodes' IPs."""

    name = "ingress-status"
    component = "ingress-status-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.ingresses = ctx.informers.get("ingresses")
        self.classes = ctx.informers.get("ingressclasses")
        self.nodes = ctx.informers.get("nodes")
        self.ingresses.add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))
        for informer in (self.nodes, self.classes):
            informer.add_handler(
                on_add=self._all, on_update=lambda o, n: self._all(n), on_delete=self._all
            )

    def _all(self, _changed: Any) -> None:
        for ing in self.ingresses.list(copy=False):
            self.queue.add(kinds.key(ing))

    async def sync(self, key: str) -> None:
        """Write the load-balancer ingress of Ingress `key` if it differs."""
        ing = self.ingresses.get(key, copy=False)
        if ing is None:
            return
        classes = {c.metadata.name: c for c in self.classes.list(copy=False)}
        if not ingresses.is_ours(ing, classes):
            return
        wanted = ingress_addresses(self.nodes.list(copy=False))
        points = ing.status.load_balancer.ingress
        if [(p.ip, p.hostname, len(p.ports)) for p in points] == [(ip, "", 0) for ip in wanted]:
            return
        if await write_ingress(self.client, ing, wanted):
            log.info("ingress load balancer", ingress=key, ingress_addresses=wanted)

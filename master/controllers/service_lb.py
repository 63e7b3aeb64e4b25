"""LoadBalancer Services: `status.loadBalancer.ingress` lists the ready nodes' addresses.

Tugboat has no cloud load balancer to provision. A LoadBalancer Service is served like a
NodePort one (every node's proxy listens on its own address at the nodePort), so the
honest "load balancer" is the set of nodes that can take traffic now: the InternalIP
of every node whose Ready condition is True. The list follows nodes as they come, go
and turn (un)ready; a Service that stops being a LoadBalancer has its ingress cleared.
"""

from __future__ import annotations

from typing import Any

import structlog

from client import kinds
from client.api import ApiClient
from client.errors import NotFound
from client.informer import copy_object
from master.controllers.base import Context, Controller
from proto import core_pb2

__all__ = ["ServiceLoadBalancerController", "ingress_addresses", "write_ingress"]

log = structlog.get_logger("controllers.service_lb")


def ingress_addresses(nodes: list[core_pb2.Node]) -> list[str]:
    """The InternalIPs of the Ready nodes, sorted and unique."""
    found: set[str] = set()
    for node in nodes:
        ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
        if not ready or node.metadata.deletion_timestamp:
            continue
        for a in node.status.addresses:
            if a.type == "InternalIP" and a.address:
                found.add(a.address)
    return sorted(found)


class ServiceLoadBalancerController(Controller):
    """Keeps each LoadBalancer Service's ingress equal to the ready nodes' addresses."""

    name = "servicelb"
    component = "service-lb-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.services = ctx.informers.get("services")
        self.nodes = ctx.informers.get("nodes")
        self.services.add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))
        self.nodes.add_handler(
            on_add=self._all, on_update=lambda o, n: self._all(n), on_delete=self._all
        )

    def _all(self, _node: Any) -> None:
        for svc in self.services.list(copy=False):
            if svc.spec.type == "LoadBalancer" or svc.status.load_balancer.ingress:
                self.queue.add(kinds.key(svc))

    async def sync(self, key: str) -> None:
        """Write the ingress of Service `key` if it differs."""
        svc = self.services.get(key, copy=False)
        if svc is None:
            return
        wanted = (
            ingress_addresses(self.nodes.list(copy=False))
            if svc.spec.type == "LoadBalancer"
            else []
        )
        if [i.ip for i in svc.status.load_balancer.ingress] == wanted:
            return
        if await write_ingress(self.client, svc, wanted):
            log.info("load balancer ingress", service=key, ingress=wanted)


async def write_ingress(client: ApiClient, obj: Any, wanted: list[str]) -> bool:
    """Write `wanted` as the status.loadBalancer.ingress IPs of a copy of `obj` (a Service
    or an Ingress); False when the object is gone."""
    fresh = copy_object(obj)
    del fresh.status.load_balancer.ingress[:]
    for ip in wanted:
        fresh.status.load_balancer.ingress.add(ip=ip)
    try:
        await client.update_status(fresh)
    except NotFound:
        return False
    return True

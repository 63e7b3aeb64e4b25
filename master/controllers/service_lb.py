"""LoadBalancer Services: `status.loadBalancer.ingress` lists the ready nodes' addresses.

Tugboat has no cloud load balancer to provision. A LoadBalancer Service is served like a
NodePort one (every node's proxy listens on its own address at the nodePort), so the
honest "load balancer" is the set of nodes that can take traffic now: the InternalIP
of every node whose Ready condition is True. The list follows nodes as they come, go
and turn (un)ready; a Service that stops being a LoadBalancer has its ingress cleared.

With `externalTrafficPolicy: Local` a node's proxy drops nodePort traffic unless one of
the Service's ready endpoints runs on that node, so such a node cannot take traffic and
is left out: the ingress lists the Ready nodes holding a ready endpoint, and follows the
Endpoints as pods come and go. A cloud load balancer learns the same by probing each
node's healthCheckNodePort, MetalLB by announcing only from such nodes; here the list
itself is the load balancer, so the list is where the choice is made.

A Service naming a `loadBalancerClass` belongs to another implementation, as Kubernetes'
cloud controllers leave such Services alone: its status is not touched.
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

__all__ = [
    "ServiceLoadBalancerController",
    "endpoint_nodes",
    "ingress_addresses",
    "write_ingress",
]

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


def endpoint_nodes(endpoints: core_pb2.Endpoints | None) -> set[str]:
    """The names of the nodes that hold a ready address of `endpoints`."""
    if endpoints is None:
        return set()
    return {
        a.node_name
        for subset in endpoints.subsets
        for a in subset.addresses
        if a.HasField("node_name") and a.node_name
    }


def _local_policy(svc: core_pb2.Service) -> bool:
    return svc.spec.external_traffic_policy == "Local"


class ServiceLoadBalancerController(Controller):
    """Keeps each LoadBalancer Service's ingress equal to the addresses of the ready nodes
    that can take its traffic."""

    name = "servicelb"
    component = "service-lb-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.services = ctx.informers.get("services")
        self.nodes = ctx.informers.get("nodes")
        self.endpoints = ctx.informers.get("endpoints")
        self.services.add_handler(on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n))
        self.endpoints.add_handler(
            on_add=self._endpoints_changed,
            on_update=lambda o, n: self._endpoints_changed(n),
            on_delete=self._endpoints_changed,
        )
        self.nodes.add_handler(
            on_add=self._all, on_update=lambda o, n: self._all(n), on_delete=self._all
        )

    def _all(self, _node: Any) -> None:
        for svc in self.services.list(copy=False):
            if svc.spec.type == "LoadBalancer" or svc.status.load_balancer.ingress:
                self.queue.add(kinds.key(svc))

    def _endpoints_changed(self, endpoints: Any) -> None:
        # Only a Local policy reads the Endpoints; the other Services ignore their churn.
        key = kinds.key(endpoints)
        svc = self.services.get(key, copy=False)
        if svc is not None and svc.spec.type == "LoadBalancer" and _local_policy(svc):
            self.queue.add(key)

    def _wanted(self, svc: core_pb2.Service) -> list[str]:
        if svc.spec.type != "LoadBalancer":
            return []
        nodes = self.nodes.list(copy=False)
        if _local_policy(svc):
            holding = endpoint_nodes(self.endpoints.get(kinds.key(svc), copy=False))
            nodes = [n for n in nodes if n.metadata.name in holding]
        return ingress_addresses(nodes)

    async def sync(self, key: str) -> None:
        """Write the ingress of Service `key` if it differs."""
        svc = self.services.get(key, copy=False)
        if svc is None or svc.spec.load_balancer_class:
            return
        wanted = self._wanted(svc)
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

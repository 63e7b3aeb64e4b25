"""Services: a ClusterIP and nodePorts allocated in the Service's own transaction.

The allocation keys (allocators.py) are claimed when the Service is written and released
when it leaves the store, each in the same etcd transaction as the Service, so two API
servers never hand out the same address and a crash never leaks one half-written.

An update that changes the type (or the external traffic policy) drops the fields the
new one has no use for, when the client sent them back unchanged, as Kubernetes'
service strategy does: `kubectl apply` of `type: ClusterIP` over a NodePort Service
sends the allocated nodePorts back, and validation would refuse them otherwise. A value
the client changed is left for validation to judge.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver import defaults
from master.apiserver.allocators import (
    NODE_PORT_TYPES,
    Claim,
    ServiceAllocator,
    keep_allocated,
    release_ops,
)
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation import service
from master.apiserver.validation.errors import Errors
from master.apiserver.validation.service import needs_health_check
from proto import core_pb2


class ServiceStrategy(Strategy):
    def default(self, obj: Any) -> None:
        defaults.default_service_spec(obj.spec)

    def prepare_for_update(self, new: Any, old: Any) -> None:
        drop_type_dependent_fields(new, old)
        keep_allocated(new, old)

    def validate(self, errs: Errors, obj: Any) -> None:
        service.validate_service(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        service.validate_service_update(errs, new, old)

    async def claim(self, allocator: ServiceAllocator, new: Any, old: Any | None) -> Claim:
        return await allocator.claim(new, old)

    def release_ops(self, old: Any) -> list[Any]:
        return release_ops(old)


def drop_type_dependent_fields(new: Any, old: Any) -> None:
    """Clear what `new` no longer needs where it equals `old`'s (see the module's words)."""
    if not isinstance(new, core_pb2.Service) or not isinstance(old, core_pb2.Service):
        return
    n, o = new.spec, old.spec
    if n.type not in NODE_PORT_TYPES and [p.node_port for p in n.ports] == [
        p.node_port for p in o.ports
    ]:
        for p in n.ports:
            p.node_port = 0
    hc = n.health_check_node_port
    if hc and hc == o.health_check_node_port and not needs_health_check(new):
        n.health_check_node_port = 0
    if n.type != "LoadBalancer":
        same = n.HasField("allocate_load_balancer_node_ports") and o.HasField(
            "allocate_load_balancer_node_ports"
        )
        if same and n.allocate_load_balancer_node_ports == o.allocate_load_balancer_node_ports:
            n.ClearField("allocate_load_balancer_node_ports")
        if n.load_balancer_class and n.load_balancer_class == o.load_balancer_class:
            n.load_balancer_class = ""
    if n.type == "ExternalName" and o.type != "ExternalName":
        if n.cluster_ip == o.cluster_ip:
            n.cluster_ip = ""
        if list(n.cluster_ips) == list(o.cluster_ips):
            del n.cluster_ips[:]
        if n.ip_family_policy == o.ip_family_policy:
            n.ip_family_policy = ""
        if list(n.ip_families) == list(o.ip_families):
            del n.ip_families[:]


STRATEGY = ServiceStrategy(by_resource("services"))

"""The Endpoints controller: for each Service with a selector, the pods behind its ports.

Ready pods go to `addresses`, the others to `notReadyAddresses` (all to `addresses` when
the Service publishes not-ready addresses). Pods without an IP, finished pods and pods
being deleted are left out. A named targetPort is resolved against each pod's own
container ports (and its sidecars'), so one Service can reach pods that number the port
differently; a pod without the named port is left out of that port. Addresses sharing
the same set of ports are packed into one subset, as Kubernetes' RepackSubsets does.

As Kubernetes' controller writes them, the Endpoints carry the Service's labels plus
`service.kubernetes.io/headless` for a Service without a cluster IP, and ExternalName
Services get none. Unlike Kubernetes', they are not cut at 1000 addresses (with the
annotation `endpoints.kubernetes.io/over-capacity: truncated`): Tugboat's proxies and DNS
route by Endpoints, where kube-proxy and CoreDNS read EndpointSlices, so a cut would
leave the Service's other pods without traffic.
"""

from __future__ import annotations

from typing import Any

import structlog

from client import kinds
from client.errors import NotFound
from client.informer import NAMESPACE_INDEX, copy_object
from master.controllers import controller_utils as cu
from master.controllers.base import Context, Controller
from proto import core_pb2

log = structlog.get_logger("controllers.endpoints")

HEADLESS_LABEL = "service.kubernetes.io/headless"


def is_headless(service: core_pb2.Service) -> bool:
    """Without a cluster IP (None, or none allocated as for ExternalName)."""
    return service.spec.cluster_ip in ("", "None")


def selects(service: core_pb2.Service, pod: core_pb2.Pod) -> bool:
    """Whether the Service's (non-empty) selector matches the pod's labels."""
    selector = service.spec.selector
    return bool(selector) and all(pod.metadata.labels.get(k) == v for k, v in selector.items())


def find_port(pod: core_pb2.Pod, port: core_pb2.ServicePort) -> int | None:
    """The pod's port for a service port: the number, or the named container port."""
    which = port.target_port.WhichOneof("value")
    if which is None:
        return port.port
    if which == "int_val":
        return port.target_port.int_val or port.port
    name = port.target_port.str_val
    # A sidecar (an init container that keeps running) serves its ports as long as the
    # app containers do, so its named ports count too; other init containers have ended.
    sidecars = [c for c in pod.spec.init_containers if c.restart_policy == "Always"]
    for c in [*pod.spec.containers, *sidecars]:
        for p in c.ports:
            if p.name == name and (p.protocol or "TCP") == (port.protocol or "TCP"):
                return p.container_port
    return None


def include(pod: core_pb2.Pod, publish_not_ready: bool) -> bool:
    """Whether the pod belongs in Endpoints at all."""
    if not pod.status.pod_ip or pod.status.phase in ("Succeeded", "Failed"):
        return False
    return publish_not_ready or not pod.metadata.deletion_timestamp


def endpoint_subsets(
    service: core_pb2.Service, pods: list[core_pb2.Pod]
) -> list[core_pb2.EndpointSubset]:
    """The packed subsets of the service's endpoints among `pods`."""
    publish = service.spec.publish_not_ready_addresses
    # (ip, pod name, ready) -> its ports; then addresses grouped by identical port sets.
    ports_of: dict[tuple[str, str, bool], set[tuple[str, int, str, str]]] = {}
    addresses: dict[tuple[str, str, bool], core_pb2.EndpointAddress] = {}
    for pod in pods:
        if not include(pod, publish):
            continue
        ready = publish or cu.is_pod_ready(pod)
        key = (pod.status.pod_ip, pod.metadata.name, ready)
        ports: set[tuple[str, int, str, str]] = set()
        for sp in service.spec.ports:
            number = find_port(pod, sp)
            if number is None:
                log.debug(
                    "pod lacks the named port",
                    service=kinds.key(service),
                    pod=kinds.key(pod),
                    port=sp.target_port.str_val,
                )
                continue
            ports.add((sp.name, number, sp.protocol or "TCP", sp.app_protocol))
        if service.spec.ports and not ports:
            continue
        ports_of[key] = ports
        address = core_pb2.EndpointAddress(ip=pod.status.pod_ip)
        # A pod of this governing (headless) service answers to HOSTNAME.SERVICE in DNS,
        # as a StatefulSet's do: Kubernetes' endpoints controller sets the same rule.
        if pod.spec.hostname and pod.spec.subdomain == service.metadata.name:
            address.hostname = pod.spec.hostname
        if pod.spec.node_name:
            address.node_name = pod.spec.node_name
        address.target_ref.CopyFrom(
            core_pb2.ObjectReference(
                kind="Pod",
                namespace=pod.metadata.namespace,
                name=pod.metadata.name,
                uid=pod.metadata.uid,
            )
        )
        addresses[key] = address
    groups: dict[frozenset[tuple[str, int, str, str]], list[tuple[str, str, bool]]] = {}
    for key, ports in ports_of.items():
        groups.setdefault(frozenset(ports), []).append(key)
    subsets: list[core_pb2.EndpointSubset] = []
    for ports_set in sorted(groups, key=lambda s: sorted(s)):
        subset = core_pb2.EndpointSubset()
        for key in sorted(groups[ports_set]):
            (subset.addresses if key[2] else subset.not_ready_addresses).append(addresses[key])
        for name, number, protocol, app in sorted(ports_set):
            port = core_pb2.EndpointPort(name=name, port=number, protocol=protocol)
            if app:
                port.app_protocol = app
            subset.ports.append(port)
        subsets.append(subset)
    return subsets


def endpoints_labels(service: core_pb2.Service) -> dict[str, str]:
    """The Service's labels, with the headless mark a Service without a cluster IP gets."""
    labels = dict(service.metadata.labels)
    labels.pop(HEADLESS_LABEL, None)
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels


class EndpointsController(Controller):
    """core/v1 Endpoints of Services with selectors."""

    name = "endpoints"
    component = "endpoint-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.services = ctx.informers.get("services")
        self.endpoints = ctx.informers.get("endpoints")
        self.pods = ctx.informers.get("pods")
        self.services.add_handler(
            on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n), on_delete=self.enqueue
        )
        self.endpoints.add_handler(on_update=lambda o, n: self.enqueue(n), on_delete=self.enqueue)
        self.pods.add_handler(
            on_add=self._pod_changed,
            on_update=self._pod_updated,
            on_delete=self._pod_changed,
        )

    def _pod_changed(self, pod: core_pb2.Pod) -> None:
        for svc in self.services.by_index(NAMESPACE_INDEX, pod.metadata.namespace, copy=False):
            if selects(svc, pod):
                self.queue.add(kinds.key(svc))

    def _pod_updated(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        if old.metadata.labels != new.metadata.labels:
            self._pod_changed(old)
        self._pod_changed(new)

    async def sync(self, key: str) -> None:
        """Make Endpoints `key` list the service's pods."""
        svc = self.services.get(key, copy=False)
        namespace, _, name = key.partition("/")
        if svc is None:
            if key in self.endpoints:
                try:
                    await self.client.delete("endpoints", namespace, name)
                except NotFound:
                    pass
            return
        if not svc.spec.selector:
            return  # endpoints of a selector-less service are the user's
        if svc.spec.type == "ExternalName":
            return  # answered by DNS alone: Kubernetes gives it no endpoints either
        pods = [
            p for p in self.pods.by_index(NAMESPACE_INDEX, namespace, copy=False) if selects(svc, p)
        ]
        subsets = endpoint_subsets(svc, pods)
        labels = endpoints_labels(svc)
        current: Any = self.endpoints.get(key)
        if current is not None:
            if list(current.subsets) == subsets and dict(current.metadata.labels) == labels:
                return
            fresh = copy_object(current)
            del fresh.subsets[:]
            fresh.subsets.extend(subsets)
            fresh.metadata.labels.clear()
            fresh.metadata.labels.update(labels)
            await self.client.update(fresh)
            return
        ep = core_pb2.Endpoints(api_version="v1", kind="Endpoints")
        ep.metadata.name = name
        ep.metadata.namespace = namespace
        ep.metadata.labels.update(labels)
        ep.subsets.extend(subsets)
        await self.client.create(ep)
        log.info("endpoints created", service=key, subsets=len(subsets))

"""The EndpointSlice controller: each Service's Endpoints, published as EndpointSlices.

Kubernetes' own controller builds slices from pods, beside the Endpoints controller; a
second one mirrors Endpoints that users write for Services without a selector. Tugboat
reads kube-proxy's side of it (the proxy and DNS keep reading Endpoints), so slices are
made for the tools that read them (the official client's DiscoveryV1Api, kopf handlers,
Prometheus' `endpointslice` discovery), and one source keeps the two views equal: the
slices are derived from the Service's Endpoints, whoever wrote those.

What a Kubernetes user sees is kept: the labels `kubernetes.io/service-name` and
`endpointslice.kubernetes.io/managed-by` (so `kubectl get endpointslices -l
kubernetes.io/service-name=web` finds them), the Service's own labels, a controlling
owner reference to the Service (the garbage collector deletes them with it), address
type IPv4, each address with its `ready`/`serving`/`terminating` conditions, node name,
hostname and target pod, at most 100 endpoints a slice, and one slice with no endpoints
or ports for a Service that has none. An Endpoints subset becomes its own slices, since
a slice's endpoints share one set of ports. Names are the Service's and a digest of the
slice's ports and place, not random as Kubernetes' are, so a sync recomputes the same
names and changes only what differs.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

import structlog

from client.errors import NotFound
from client.informer import NAMESPACE_INDEX, copy_object
from master.controllers.base import Context, Controller
from master.controllers.controller_utils import owner_reference
from proto import core_pb2, discovery_pb2

__all__ = ["MANAGED_BY", "SERVICE_NAME", "EndpointSliceController", "endpoint_slices"]

log = structlog.get_logger("controllers.endpointslice")

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS = 100
"""Per slice: kube-controller-manager's default --max-endpoints-per-slice."""


def _endpoint(address: core_pb2.EndpointAddress, ready: bool) -> discovery_pb2.Endpoint:
    ep = discovery_pb2.Endpoint(addresses=[address.ip])
    ep.conditions.ready = ready
    ep.conditions.serving = ready
    ep.conditions.terminating = False
    if address.hostname:
        ep.hostname = address.hostname
    if address.HasField("node_name") and address.node_name:
        ep.node_name = address.node_name
    if address.target_ref.name:
        ep.target_ref.CopyFrom(address.target_ref)
    return ep


def _ports(subset: core_pb2.EndpointSubset) -> list[discovery_pb2.SlicePort]:
    out = []
    for p in subset.ports:
        port = discovery_pb2.SlicePort(name=p.name, protocol=p.protocol or "TCP", port=p.port)
        if p.app_protocol:
            port.app_protocol = p.app_protocol
        out.append(port)
    return out


def _name(service: str, ports: list[discovery_pb2.SlicePort], chunk: int) -> str:
    text = ",".join(f"{p.name}/{p.protocol}/{p.port}" for p in ports) + f"#{chunk}"
    return f"{service}-{hashlib.sha256(text.encode()).hexdigest()[:5]}"


def endpoint_slices(
    svc: core_pb2.Service, endpoints: core_pb2.Endpoints | None
) -> list[discovery_pb2.EndpointSlice]:
    """The slices Service `svc` should have, from its Endpoints (None: not written yet)."""
    meta = svc.metadata
    pieces: list[tuple[list[discovery_pb2.SlicePort], list[discovery_pb2.Endpoint]]] = []
    for subset in endpoints.subsets if endpoints is not None else ():
        members = [
            _endpoint(a, ready)
            for ready, addresses in ((True, subset.addresses), (False, subset.not_ready_addresses))
            for a in addresses
            if a.ip and ipaddress.ip_address(a.ip).version == 4
        ]
        ports = _ports(subset)
        for start in range(0, max(len(members), 1), MAX_ENDPOINTS):
            pieces.append((ports, members[start : start + MAX_ENDPOINTS]))
    if not pieces:
        pieces.append(([], []))  # Kubernetes keeps one empty slice for a Service without any
    slices = []
    seen: dict[str, int] = {}
    for ports, members in pieces:
        base = _name(meta.name, ports, 0)
        chunk = seen.get(base, 0)
        seen[base] = chunk + 1
        made = discovery_pb2.EndpointSlice(
            api_version="discovery.k8s.io/v1", kind="EndpointSlice", address_type="IPv4"
        )
        made.metadata.name = _name(meta.name, ports, chunk)
        made.metadata.namespace = meta.namespace
        made.metadata.labels.update(meta.labels)
        made.metadata.labels[SERVICE_NAME] = meta.name
        made.metadata.labels[MANAGED_BY_LABEL] = MANAGED_BY
        owner = core_pb2.Service(api_version="v1", kind="Service")
        owner.metadata.name, owner.metadata.uid = meta.name, meta.uid
        made.metadata.owner_references.append(owner_reference(owner))
        made.ports.extend(ports)
        made.endpoints.extend(members)
        slices.append(made)
    return slices


def _same(current: discovery_pb2.EndpointSlice, wanted: discovery_pb2.EndpointSlice) -> bool:
    return (
        list(current.endpoints) == list(wanted.endpoints)
        and list(current.ports) == list(wanted.ports)
        and dict(current.metadata.labels) == dict(wanted.metadata.labels)
        and current.address_type == wanted.address_type
    )


class EndpointSliceController(Controller):
    """discovery.k8s.io/v1 EndpointSlices of every Service but ExternalName ones."""

    name = "endpointslice"
    component = "endpointslice-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.services = ctx.informers.get("services")
        self.endpoints = ctx.informers.get("endpoints")
        self.slices = ctx.informers.get("endpointslices")
        for informer in (self.services, self.endpoints):
            informer.add_handler(
                on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n), on_delete=self.enqueue
            )
        self.slices.add_handler(
            on_add=self._slice_changed,
            on_update=lambda o, n: self._slice_changed(n),
            on_delete=self._slice_changed,
        )

    def _slice_changed(self, slice_: Any) -> None:
        service = slice_.metadata.labels.get(SERVICE_NAME)
        if service and slice_.metadata.labels.get(MANAGED_BY_LABEL) == MANAGED_BY:
            self.queue.add(f"{slice_.metadata.namespace}/{service}")

    def _ours(self, namespace: str, service: str) -> list[discovery_pb2.EndpointSlice]:
        return [
            s
            for s in self.slices.by_index(NAMESPACE_INDEX, namespace, copy=False)
            if s.metadata.labels.get(SERVICE_NAME) == service
            and s.metadata.labels.get(MANAGED_BY_LABEL) == MANAGED_BY
        ]

    async def sync(self, key: str) -> None:
        """Make the slices of Service `key` match its Endpoints."""
        namespace, _, name = key.partition("/")
        svc = self.services.get(key, copy=False)
        wanted = []
        if svc is not None and svc.spec.type != "ExternalName":
            wanted = endpoint_slices(svc, self.endpoints.get(key, copy=False))
        current = {s.metadata.name: s for s in self._ours(namespace, name)}
        for made in wanted:
            existing = current.pop(made.metadata.name, None)
            if existing is None:
                await self.client.create(made)
                log.info("endpoint slice created", service=key, slice=made.metadata.name)
            elif not _same(existing, made):
                fresh = copy_object(existing)
                for field in ("endpoints", "ports"):
                    fresh.ClearField(field)
                fresh.endpoints.extend(made.endpoints)
                fresh.ports.extend(made.ports)
                fresh.metadata.labels.clear()
                fresh.metadata.labels.update(made.metadata.labels)
                await self.client.update(fresh)
        for stale in current:
            try:
                await self.client.delete("endpointslices", namespace, stale)
            except NotFound:
                pass
            log.info("endpoint slice deleted", service=key, slice=stale)

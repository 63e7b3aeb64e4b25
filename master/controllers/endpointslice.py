"""The EndpointSlice controller: each Service's endpoints as discovery.k8s.io/v1 slices.

Kubernetes runs two controllers here and this module is both, keyed by the Service:

- a Service with a selector gets slices built from its pods, beside (not from) its
  Endpoints, as Kubernetes' endpointslice controller builds them. Terminating pods stay
  in them (`ready` false, `serving` their readiness, `terminating` true) so that clients
  can drain; `serving` is the pod's own readiness even when the Service publishes
  not-ready addresses. A named targetPort is resolved per pod, and pods that resolve to
  different numbers, or lack the port, go to different slices, one per set of ports.
  Each endpoint carries its node, that node's `topology.kubernetes.io/zone`, the pod,
  and the hostname when the pod's subdomain names the Service. Slices hold at most 100
  endpoints each and are packed as Kubernetes packs them:
  an endpoint stays in the slice that has it, new ones fill the slices being written
  anyway (fullest first), then the existing slice they fit closest, then new slices, and
  a slice about to be deleted is reused for one about to be made. A Service without
  endpoints keeps one empty slice. Labelled with the Service's labels,
  `kubernetes.io/service-name`, `endpointslice.kubernetes.io/managed-by:
  endpointslice-controller.k8s.io` and `service.kubernetes.io/headless` when it has no
  cluster IP; owned by the Service.
- a Service without a selector gets its user-written Endpoints mirrored, as Kubernetes'
  endpointslicemirroring controller does: one slice per address type and set of ports,
  at most 1000 addresses a subset, only the `ready` condition, the Endpoints' labels and
  annotations, managed by `endpointslicemirroring-controller.k8s.io`, owned by the
  Endpoints; none while the Endpoints are missing, empty or labelled
  `endpointslice.kubernetes.io/skip-mirror: "true"`.

Unlike Kubernetes, slices the other half made go when a Service gains or loses its
selector (Kubernetes leaves the controller's until the Service goes), ExternalName
Services keep none, and names are the Service's and a digest of the slice's ports and a
number, not random: a sync whose cache has not seen its last create recomputes the same
name and gets AlreadyExists (then retries) instead of making a second slice.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any

import structlog

from client.errors import NotFound
from client.informer import NAMESPACE_INDEX, copy_object
from master.controllers import controller_utils as cu
from master.controllers.base import Context, Controller
from master.controllers.controller_utils import owner_reference
from master.controllers.endpoints import (
    HEADLESS_LABEL,
    find_port,
    include,
    is_headless,
    selects,
)
from proto import core_pb2, discovery_pb2

__all__ = [
    "MANAGED_BY",
    "MIRRORED_BY",
    "SERVICE_NAME",
    "EndpointSliceController",
    "Plan",
    "mirror_plan",
    "pod_slices_plan",
]

log = structlog.get_logger("controllers.endpointslice")

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
MIRRORED_BY = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
ZONE_LABEL = "topology.kubernetes.io/zone"
NOT_MIRRORED_ANNOTATIONS = (
    "endpoints.kubernetes.io/last-change-trigger-time",
    "kubectl.kubernetes.io/last-applied-configuration",
)
MAX_ENDPOINTS = 100
"""Per slice: kube-controller-manager's default --max-endpoints-per-slice."""
MAX_MIRRORED = 1000
"""Per Endpoints subset: kube-controller-manager's --mirroring-max-endpoints-per-subset."""

PortKey = tuple[str, tuple[tuple[str, str, int, str], ...]]
"""A slice's address type and its ports, in order."""
EndpointKey = tuple[tuple[str, ...], str, str, str]
"""What makes an endpoint the same one: addresses, hostname, pod namespace and name."""


@dataclass
class Plan:
    """The writes that bring a Service's slices to what they should be."""

    create: list[discovery_pb2.EndpointSlice] = field(default_factory=list)
    update: list[discovery_pb2.EndpointSlice] = field(default_factory=list)
    delete: list[discovery_pb2.EndpointSlice] = field(default_factory=list)


def _port_key(address_type: str, ports: Any) -> PortKey:
    return address_type, tuple(
        sorted((p.name, p.protocol or "TCP", p.port, p.app_protocol) for p in ports)
    )


def _endpoint_key(ep: discovery_pb2.Endpoint) -> EndpointKey:
    return (tuple(ep.addresses), ep.hostname, ep.target_ref.namespace, ep.target_ref.name)


def _name(service: str, key: PortKey, number: int, salt: str) -> str:
    text = ",".join(f"{n}/{proto}/{port}" for n, proto, port, _ in key[1])
    text += f"#{number}" if not salt else f"#{salt}{number}"
    return f"{service}-{hashlib.sha256(text.encode()).hexdigest()[:5]}"


def _owned_by(slice_: discovery_pb2.EndpointSlice, uid: str) -> bool:
    return any(ref.uid == uid for ref in slice_.metadata.owner_references)


# -- slices from pods ------------------------------------------------------------------


def pod_endpoint(
    pod: core_pb2.Pod, service: core_pb2.Service, node: core_pb2.Node | None
) -> discovery_pb2.Endpoint | None:
    """The pod as an IPv4 endpoint of `service`, or None when it has no IPv4 address."""
    ips = [pod.status.pod_ip, *(p.ip for p in pod.status.pod_ips)]
    ipv4 = [ip for ip in ips if ip and ipaddress.ip_address(ip).version == 4]
    if not ipv4:
        return None
    serving = cu.is_pod_ready(pod)
    terminating = bool(pod.metadata.deletion_timestamp)
    ep = discovery_pb2.Endpoint(addresses=ipv4[:1])
    # A terminating pod is never ready, even while it still serves, unless the Service
    # asks for every address regardless.
    ep.conditions.ready = service.spec.publish_not_ready_addresses or (serving and not terminating)
    ep.conditions.serving = serving
    ep.conditions.terminating = terminating
    ep.target_ref.CopyFrom(
        core_pb2.ObjectReference(
            kind="Pod",
            namespace=pod.metadata.namespace,
            name=pod.metadata.name,
            uid=pod.metadata.uid,
        )
    )
    if pod.spec.node_name:
        ep.node_name = pod.spec.node_name
    zone = node.metadata.labels.get(ZONE_LABEL, "") if node is not None else ""
    if zone:
        ep.zone = zone
    if pod.spec.hostname and pod.spec.subdomain == service.metadata.name:
        ep.hostname = pod.spec.hostname
    return ep


def pod_ports(pod: core_pb2.Pod, service: core_pb2.Service) -> list[discovery_pb2.SlicePort]:
    """The service's ports the pod has, numbered as the pod numbers them."""
    ports = []
    for sp in service.spec.ports:
        number = find_port(pod, sp)
        if number is None:
            continue
        port = discovery_pb2.SlicePort(name=sp.name, protocol=sp.protocol or "TCP", port=number)
        if sp.app_protocol:
            port.app_protocol = sp.app_protocol
        ports.append(port)
    return ports


def slice_labels(service: core_pb2.Service) -> dict[str, str]:
    """The labels of the controller's slices of `service`."""
    labels = {
        k: v
        for k, v in service.metadata.labels.items()
        if k not in (SERVICE_NAME, MANAGED_BY_LABEL, HEADLESS_LABEL)
    }
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME] = service.metadata.name
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    return labels


def _new_slice(
    service: core_pb2.Service, ports: list[discovery_pb2.SlicePort]
) -> discovery_pb2.EndpointSlice:
    made = discovery_pb2.EndpointSlice(
        api_version="discovery.k8s.io/v1", kind="EndpointSlice", address_type="IPv4"
    )
    made.metadata.namespace = service.metadata.namespace
    made.metadata.labels.update(slice_labels(service))
    owner = core_pb2.Service(api_version="v1", kind="Service")
    owner.metadata.name, owner.metadata.uid = service.metadata.name, service.metadata.uid
    made.metadata.owner_references.append(owner_reference(owner))
    made.ports.extend(ports)
    return made


def _closest_fit(
    slices: list[discovery_pb2.EndpointSlice], count: int
) -> discovery_pb2.EndpointSlice | None:
    """The slice that `count` more endpoints fill closest to full, if any has room."""
    best, best_room = None, MAX_ENDPOINTS
    for s in slices:
        room = MAX_ENDPOINTS - (len(s.endpoints) + count)
        if 0 <= room < best_room:
            best, best_room = s, room
    return best


def _pack(
    service: core_pb2.Service,
    ports: list[discovery_pb2.SlicePort],
    wanted: dict[EndpointKey, discovery_pb2.Endpoint],
    existing: list[discovery_pb2.EndpointSlice],
    plan: Plan,
) -> None:
    """Place `wanted` (one set of ports) in `existing` slices of those ports, or new ones."""
    labels = slice_labels(service)
    left = dict(wanted)
    changed: list[discovery_pb2.EndpointSlice] = []
    unchanged: list[discovery_pb2.EndpointSlice] = []
    for current in sorted(existing, key=lambda s: s.metadata.name):
        kept = []
        for ep in current.endpoints:
            want = left.pop(_endpoint_key(ep), None)
            if want is not None:
                kept.append(want)
        endpoints_same = kept == list(current.endpoints)
        if endpoints_same and dict(current.metadata.labels) == labels:
            unchanged.append(current)
        elif not kept and current.endpoints:
            plan.delete.append(current)
        else:
            fresh = copy_object(current)
            fresh.ClearField("endpoints")
            fresh.endpoints.extend(kept)
            fresh.metadata.labels.clear()
            fresh.metadata.labels.update(labels)
            changed.append(fresh)
    queue = [left[k] for k in sorted(left)]
    # Slices written anyway take the newcomers first, fullest first, so that fewer
    # slices are written and the ones there stay full.
    for fresh in sorted(changed, key=lambda s: -len(s.endpoints)):
        room = MAX_ENDPOINTS - len(fresh.endpoints)
        fresh.endpoints.extend(queue[:room])
        del queue[:room]
    while queue:
        target = None
        if len(queue) < MAX_ENDPOINTS:
            target = _closest_fit(unchanged, len(queue))
        if target is not None:
            unchanged.remove(target)
            target = copy_object(target)
            changed.append(target)
        else:
            target = _new_slice(service, ports)
            plan.create.append(target)
        room = MAX_ENDPOINTS - len(target.endpoints)
        target.endpoints.extend(queue[:room])
        del queue[:room]
    plan.update.extend(changed)


def pod_slices_plan(
    service: core_pb2.Service,
    pods: list[core_pb2.Pod],
    nodes: dict[str, core_pb2.Node],
    existing: list[discovery_pb2.EndpointSlice],
) -> Plan:
    """The writes that make `existing` (the controller's slices of `service`) show
    `pods` (those the Service selects)."""
    desired: dict[PortKey, tuple[list[discovery_pb2.SlicePort], dict[EndpointKey, Any]]] = {}
    for pod in pods:
        if not include(pod, True):
            continue
        ep = pod_endpoint(pod, service, nodes.get(pod.spec.node_name))
        if ep is None:
            continue
        ports = pod_ports(pod, service)
        _, members = desired.setdefault(_port_key("IPv4", ports), (ports, {}))
        members[_endpoint_key(ep)] = ep
    plan = Plan()
    by_key: dict[PortKey, list[discovery_pb2.EndpointSlice]] = {}
    for s in existing:
        if s.address_type == "IPv4" and _owned_by(s, service.metadata.uid):
            by_key.setdefault(_port_key(s.address_type, s.ports), []).append(s)
        else:
            plan.delete.append(s)  # left by an earlier Service of this name
    for key in sorted(desired):
        ports, members = desired[key]
        _pack(service, ports, members, by_key.pop(key, []), plan)
    for key in sorted(by_key):
        plan.delete.extend(by_key[key])
    if len(plan.delete) == len(existing) and not plan.create:
        placeholder = _new_slice(service, [])
        if len(plan.delete) == 1 and _same_placeholder(plan.delete[0], placeholder, service):
            plan.delete.clear()
        else:
            plan.create.append(placeholder)
    _recycle(plan, service.metadata.uid)
    _name_new(plan, service.metadata.name, existing, salt="")
    return plan


def _same_placeholder(
    current: discovery_pb2.EndpointSlice,
    placeholder: discovery_pb2.EndpointSlice,
    service: core_pb2.Service,
) -> bool:
    return (
        not current.endpoints
        and not current.ports
        and current.address_type == placeholder.address_type
        and dict(current.metadata.labels) == dict(placeholder.metadata.labels)
        and _owned_by(current, service.metadata.uid)
    )


def _recycle(plan: Plan, owner_uid: str) -> None:
    """Turn a create and a delete into one update of the slice that would be deleted."""
    kept: list[discovery_pb2.EndpointSlice] = []
    for doomed in plan.delete:
        if not plan.create or not _owned_by(doomed, owner_uid):
            kept.append(doomed)
            continue
        made = plan.create.pop()
        if made.address_type != doomed.address_type:
            plan.create.append(made)
            kept.append(doomed)
            continue
        fresh = copy_object(doomed)
        for name in ("endpoints", "ports"):
            fresh.ClearField(name)
        fresh.endpoints.extend(made.endpoints)
        fresh.ports.extend(made.ports)
        fresh.metadata.labels.clear()
        fresh.metadata.labels.update(made.metadata.labels)
        fresh.metadata.annotations.clear()
        fresh.metadata.annotations.update(made.metadata.annotations)
        plan.update.append(fresh)
    plan.delete = kept


def _name_new(
    plan: Plan, service: str, existing: list[discovery_pb2.EndpointSlice], salt: str
) -> None:
    taken = {s.metadata.name for s in existing}
    for made in plan.create:
        key = _port_key(made.address_type, made.ports)
        number = 0
        while (name := _name(service, key, number, salt)) in taken:
            number += 1
        made.metadata.name = name
        taken.add(name)


# -- slices mirrored from Endpoints ------------------------------------------------------


def _mirrored_endpoint(
    address: core_pb2.EndpointAddress, ready: bool
) -> tuple[str, discovery_pb2.Endpoint] | None:
    try:
        ip = ipaddress.ip_address(address.ip)
    except ValueError:
        return None
    ep = discovery_pb2.Endpoint(addresses=[str(ip)])
    ep.conditions.ready = ready
    if address.target_ref.name or address.target_ref.kind:
        ep.target_ref.CopyFrom(address.target_ref)
    if address.HasField("node_name"):
        ep.node_name = address.node_name
    if address.hostname:
        ep.hostname = address.hostname
    return ("IPv4" if ip.version == 4 else "IPv6"), ep


def should_mirror(endpoints: core_pb2.Endpoints) -> bool:
    """Whether the user's Endpoints are to be mirrored at all."""
    return endpoints.metadata.labels.get(SKIP_MIRROR) != "true"


def mirror_plan(
    endpoints: core_pb2.Endpoints | None, existing: list[discovery_pb2.EndpointSlice]
) -> Plan:
    """The writes that make `existing` (the mirrored slices of one selector-less Service)
    show `endpoints` (None: missing)."""
    desired: dict[PortKey, tuple[list[discovery_pb2.SlicePort], list[discovery_pb2.Endpoint]]]
    desired = {}
    if endpoints is not None and should_mirror(endpoints):
        for subset in endpoints.subsets:
            ports = [
                discovery_pb2.SlicePort(name=p.name, protocol=p.protocol or "TCP", port=p.port)
                for p in subset.ports
            ]
            for port, source in zip(ports, subset.ports, strict=True):
                if source.app_protocol:
                    port.app_protocol = source.app_protocol
            added = 0
            addresses = [(a, True) for a in subset.addresses]
            addresses += [(a, False) for a in subset.not_ready_addresses]
            for address, ready in addresses:
                if added >= MAX_MIRRORED:
                    break
                made = _mirrored_endpoint(address, ready)
                if made is None:
                    continue
                address_type, ep = made
                key = _port_key(address_type, ports)
                desired.setdefault(key, (ports, []))[1].append(ep)
                added += 1
    plan = Plan()
    by_key: dict[PortKey, list[discovery_pb2.EndpointSlice]] = {}
    for s in sorted(existing, key=lambda s: s.metadata.name):
        by_key.setdefault(_port_key(s.address_type, s.ports), []).append(s)
    for key in sorted(desired):
        ports, members = desired[key]
        assert endpoints is not None
        wanted = _mirrored_slice(endpoints, key[0], ports, members[:MAX_MIRRORED])
        # One slice a set of ports, as Kubernetes mirrors: any other goes.
        current, *extra = by_key.pop(key, [None])
        plan.delete.extend(s for s in extra if s is not None)
        if current is None:
            plan.create.append(wanted)
        elif not _same_mirror(current, wanted):
            fresh = copy_object(current)
            fresh.ClearField("endpoints")
            fresh.endpoints.extend(wanted.endpoints)
            for meta_field in ("labels", "annotations", "owner_references"):
                fresh.metadata.ClearField(meta_field)
            fresh.metadata.labels.update(wanted.metadata.labels)
            fresh.metadata.annotations.update(wanted.metadata.annotations)
            fresh.metadata.owner_references.extend(wanted.metadata.owner_references)
            plan.update.append(fresh)
    for key in sorted(by_key):
        plan.delete.extend(by_key[key])
    if endpoints is not None:
        _recycle(plan, endpoints.metadata.uid)
        _name_new(plan, endpoints.metadata.name, existing, salt="mirror")
    return plan


def _mirrored_slice(
    endpoints: core_pb2.Endpoints,
    address_type: str,
    ports: list[discovery_pb2.SlicePort],
    members: list[discovery_pb2.Endpoint],
) -> discovery_pb2.EndpointSlice:
    made = discovery_pb2.EndpointSlice(
        api_version="discovery.k8s.io/v1", kind="EndpointSlice", address_type=address_type
    )
    meta = made.metadata
    meta.namespace = endpoints.metadata.namespace
    meta.labels.update(endpoints.metadata.labels)
    meta.labels[SERVICE_NAME] = endpoints.metadata.name
    meta.labels[MANAGED_BY_LABEL] = MIRRORED_BY
    for k, v in endpoints.metadata.annotations.items():
        if k not in NOT_MIRRORED_ANNOTATIONS:
            meta.annotations[k] = v
    owner = core_pb2.Endpoints(api_version="v1", kind="Endpoints")
    owner.metadata.name, owner.metadata.uid = endpoints.metadata.name, endpoints.metadata.uid
    meta.owner_references.append(owner_reference(owner))
    made.ports.extend(ports)
    made.endpoints.extend(members)
    return made


def _same_mirror(current: discovery_pb2.EndpointSlice, wanted: discovery_pb2.EndpointSlice) -> bool:
    return (
        list(current.endpoints) == list(wanted.endpoints)
        and dict(current.metadata.labels) == dict(wanted.metadata.labels)
        and dict(current.metadata.annotations) == dict(wanted.metadata.annotations)
        and list(current.metadata.owner_references) == list(wanted.metadata.owner_references)
    )


class EndpointSliceController(Controller):
    """discovery.k8s.io/v1 EndpointSlices of every Service but ExternalName ones."""

    name = "endpointslice"
    component = "endpointslice-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.services = ctx.informers.get("services")
        self.endpoints = ctx.informers.get("endpoints")
        self.pods = ctx.informers.get("pods")
        self.nodes = ctx.informers.get("nodes")
        self.slices = ctx.informers.get("endpointslices")
        for informer in (self.services, self.endpoints):
            informer.add_handler(
                on_add=self.enqueue, on_update=lambda o, n: self.enqueue(n), on_delete=self.enqueue
            )
        self.pods.add_handler(
            on_add=self._pod_changed,
            on_update=self._pod_updated,
            on_delete=self._pod_changed,
        )
        self.slices.add_handler(
            on_add=self._slice_changed,
            on_update=lambda o, n: self._slice_changed(n),
            on_delete=self._slice_changed,
        )

    def _pod_changed(self, pod: core_pb2.Pod) -> None:
        for svc in self.services.by_index(NAMESPACE_INDEX, pod.metadata.namespace, copy=False):
            if selects(svc, pod):
                self.enqueue(svc)

    def _pod_updated(self, old: core_pb2.Pod, new: core_pb2.Pod) -> None:
        if old.metadata.labels != new.metadata.labels:
            self._pod_changed(old)
        self._pod_changed(new)

    def _slice_changed(self, slice_: Any) -> None:
        service = slice_.metadata.labels.get(SERVICE_NAME)
        if service and slice_.metadata.labels.get(MANAGED_BY_LABEL) in (MANAGED_BY, MIRRORED_BY):
            self.queue.add(f"{slice_.metadata.namespace}/{service}")

    def _managed(
        self, namespace: str, service: str, manager: str
    ) -> list[discovery_pb2.EndpointSlice]:
        return [
            s
            for s in self.slices.by_index(NAMESPACE_INDEX, namespace, copy=False)
            if s.metadata.labels.get(SERVICE_NAME) == service
            and s.metadata.labels.get(MANAGED_BY_LABEL) == manager
        ]

    async def sync(self, key: str) -> None:
        """Make the slices of Service `key` show its pods, or mirror its Endpoints."""
        namespace, _, name = key.partition("/")
        svc = self.services.get(key, copy=False)
        ours = self._managed(namespace, name, MANAGED_BY)
        mirrored = self._managed(namespace, name, MIRRORED_BY)
        plan = Plan()
        if svc is None or svc.spec.type == "ExternalName":
            plan.delete = ours + mirrored
        elif svc.spec.selector:
            pods = [
                p
                for p in self.pods.by_index(NAMESPACE_INDEX, namespace, copy=False)
                if selects(svc, p)
            ]
            nodes = {
                p.spec.node_name: node
                for p in pods
                if p.spec.node_name
                and (node := self.nodes.get(p.spec.node_name, copy=False)) is not None
            }
            plan = pod_slices_plan(svc, pods, nodes, ours)
            plan.delete.extend(mirrored)
        else:
            plan = mirror_plan(self.endpoints.get(key, copy=False), mirrored)
            plan.delete.extend(ours)
        await self._apply(key, plan)

    async def _apply(self, key: str, plan: Plan) -> None:
        for made in plan.create:
            await self.client.create(made)
            log.info("endpoint slice created", service=key, slice=made.metadata.name)
        for fresh in plan.update:
            await self.client.update(fresh)
        for stale in plan.delete:
            try:
                await self.client.delete(
                    "endpointslices", stale.metadata.namespace, stale.metadata.name
                )
            except NotFound:
                pass
            log.info("endpoint slice deleted", service=key, slice=stale.metadata.name)

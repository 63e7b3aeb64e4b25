"""Describing services, with the endpoints they currently route to."""

from __future__ import annotations

from cli.describe.writer import NONE, Writer
from client import errors
from client.api import ApiClient
from client.printing.columns import endpoints_text
from client.selectors import format_labels
from proto import core_pb2


def _target(p: core_pb2.ServicePort) -> str:
    which = p.target_port.WhichOneof("value")
    value = getattr(p.target_port, which) if which else p.port
    return f"{value}/{p.protocol or 'TCP'}"


async def describe_service(w: Writer, svc: core_pb2.Service, api: ApiClient) -> None:
    """The page of a service, before its events."""
    meta, spec = svc.metadata, svc.spec
    w.field(0, "Name", meta.name)
    w.field(0, "Namespace", meta.namespace)
    w.mapping(0, "Labels", dict(meta.labels))
    w.mapping(0, "Annotations", dict(meta.annotations), ": ")
    w.field(0, "Selector", format_labels(spec.selector))
    w.field(0, "Type", spec.type or "ClusterIP")
    # kubectl 1.32's lines, in its order; the optional ones only when set, as there.
    if spec.ip_family_policy:
        w.field(0, "IP Family Policy", spec.ip_family_policy)
    w.field(0, "IP Families", ",".join(spec.ip_families) or NONE)
    w.field(0, "IP", spec.cluster_ip)
    w.field(0, "IPs", ",".join(spec.cluster_ips) or NONE)
    if spec.external_ips:
        w.field(0, "External IPs", ",".join(spec.external_ips))
    if spec.external_name:
        w.field(0, "External Name", spec.external_name)
    ingress = [i.ip or i.hostname for i in svc.status.load_balancer.ingress]
    if ingress:
        w.field(0, "LoadBalancer Ingress", ", ".join(ingress))
    try:
        ep = await api.get("endpoints", meta.namespace, meta.name)
        endpoints = endpoints_text(ep, limit=10**6) if isinstance(ep, core_pb2.Endpoints) else NONE
    except errors.NotFound:
        endpoints = NONE
    for p in spec.ports:
        name = p.name or "<unset>"
        w.line(0, "Port:", name, f"{p.port}/{p.protocol or 'TCP'}")
        w.field(0, "TargetPort", _target(p))
        if p.node_port:
            w.line(0, "NodePort:", name, f"{p.node_port}/{p.protocol or 'TCP'}")
        w.field(0, "Endpoints", endpoints)
    if not spec.ports:
        w.field(0, "Endpoints", endpoints)
    w.field(0, "Session Affinity", spec.session_affinity or "None")
    if spec.external_traffic_policy:
        w.field(0, "External Traffic Policy", spec.external_traffic_policy)
    if spec.internal_traffic_policy:
        w.field(0, "Internal Traffic Policy", spec.internal_traffic_policy)
    if spec.health_check_node_port:
        w.field(0, "HealthCheck NodePort", str(spec.health_check_node_port))

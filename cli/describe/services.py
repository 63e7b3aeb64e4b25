"""Describing services, with the endpoints they currently route to."""

from __future__ import annotations

from cli.describe.writer import NONE, Writer
from client import errors
from client.api import ApiClient
from client.printing.columns import endpoints_text
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
    w.field(0, "Selector", ",".join(f"{k}={v}" for k, v in sorted(spec.selector.items())))
    w.field(0, "Type", spec.type or "ClusterIP")
    w.field(0, "IP", spec.cluster_ip)
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

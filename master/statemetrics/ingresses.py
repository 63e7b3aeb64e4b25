"""Ingresses and IngressClasses: kube-state-metrics' kube_ingress_* and kube_ingressclass_*.

Label names and values are kube-state-metrics' (internal/store/ingress.go,
ingressclass.go): a classless Ingress reports the class `_default`, and a path's
service_port is its number, or its name when the backend names the port.
"""

from __future__ import annotations

from master.statemetrics.families import Families
from proto import networking_pb2

__all__ = ["ingress_class_metrics", "ingress_metrics"]


def ingress_metrics(ing: networking_pb2.Ingress, out: Families) -> None:
    """Every kube_ingress_* series of one Ingress."""
    m, spec = ing.metadata, ing.spec
    labels = {"namespace": m.namespace, "ingress": m.name}
    klass = spec.ingress_class_name if spec.HasField("ingress_class_name") else "_default"
    out.gauge(
        "kube_ingress_info", "Information about an Ingress.", {**labels, "ingressclass": klass}, 1
    )
    out.created("ingress", "Ingress", labels, m.creation_timestamp)
    out.gauge(
        "kube_ingress_metadata_resource_version",
        "The Ingress' resourceVersion.",
        labels,
        int(m.resource_version or 0),
    )
    for rule in spec.rules:
        for p in rule.http.paths:
            svc = p.backend.service
            out.gauge(
                "kube_ingress_path",
                "A host and path of the Ingress and the Service it goes to.",
                {
                    **labels,
                    "host": rule.host,
                    "path": p.path,
                    "service_name": svc.name,
                    "service_port": svc.port.name or str(svc.port.number),
                },
                1,
            )
    for tls in spec.tls:
        for host in tls.hosts:
            out.gauge(
                "kube_ingress_tls",
                "A TLS host of the Ingress and the Secret holding its certificate.",
                {**labels, "tls_host": host, "secret": tls.secret_name},
                1,
            )


def ingress_class_metrics(ic: networking_pb2.IngressClass, out: Families) -> None:
    """Every kube_ingressclass_* series of one IngressClass."""
    labels = {"ingressclass": ic.metadata.name}
    out.gauge(
        "kube_ingressclass_info",
        "Information about an IngressClass.",
        {**labels, "controller": ic.spec.controller},
        1,
    )
    out.created("ingressclass", "IngressClass", labels, ic.metadata.creation_timestamp)

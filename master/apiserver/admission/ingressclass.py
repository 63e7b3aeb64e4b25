"""DefaultIngressClass: an Ingress created without a class gets the default IngressClass.

As Kubernetes' admission plugin of that name: only at create, only when neither
spec.ingressClassName nor the older `kubernetes.io/ingress.class` annotation names a
class, and the default is the IngressClass annotated
`ingressclass.kubernetes.io/is-default-class: "true"`; with several, the newest (ties by
name), as current Kubernetes chooses rather than refusing the Ingress. Without a
default the Ingress stays classless and no controller of a class serves it. The classes
are read in the same etcd round trip as the namespace's other admission reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from client.ingresses import CLASS_ANNOTATION, DEFAULT_ANNOTATION
from master.apiserver.admission.defaultclass import newest_default

__all__ = ["apply", "default_class"]


def default_class(classes: Iterable[Any]) -> str | None:
    """The name of the default IngressClass among `classes`, or None."""
    return newest_default(classes, DEFAULT_ANNOTATION)


def apply(ingress: Any, classes: Iterable[Any]) -> None:
    """Set `ingress`'s class to the default one when it names none."""
    if ingress.spec.HasField("ingress_class_name"):
        return
    if CLASS_ANNOTATION in ingress.metadata.annotations:
        return
    name = default_class(classes)
    if name is not None:
        ingress.spec.ingress_class_name = name

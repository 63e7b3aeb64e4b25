"""Which Ingresses are Tugboat's to serve: the one rule the proxy and the controllers share.

Tugboat's ingress controller (in every node's proxy) and the controller that writes
Ingress status (in the controller manager) are separate components that must agree on
the same set of Ingresses, so the rule lives here rather than in either. An Ingress is
Tugboat's when the IngressClass it names, by spec.ingressClassName or else by the older
`kubernetes.io/ingress.class` annotation, exists and has the controller
`tugboat.io/ingress`. A classless Ingress (made while no class was the default) is
served by no one, as on a Kubernetes cluster whose controllers do not opt in to them.
"""

from __future__ import annotations

from collections.abc import Mapping

from proto import networking_pb2

__all__ = [
    "CLASS_ANNOTATION",
    "CONTROLLER",
    "DEFAULT_ANNOTATION",
    "DEFAULT_CLASS",
    "class_name",
    "is_ours",
]

CONTROLLER = "tugboat.io/ingress"
"""spec.controller of the IngressClasses whose Ingresses Tugboat serves."""
DEFAULT_CLASS = "tugboat"
"""The IngressClass every API server creates at start, annotated as the default."""
DEFAULT_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
"""The class annotation of networking/v1beta1, still honoured by Kubernetes' controllers."""


def class_name(ing: networking_pb2.Ingress) -> str:
    """The IngressClass `ing` names ("" when none)."""
    if ing.spec.HasField("ingress_class_name"):
        return ing.spec.ingress_class_name
    return ing.metadata.annotations.get(CLASS_ANNOTATION, "")


def is_ours(
    ing: networking_pb2.Ingress, classes: Mapping[str, networking_pb2.IngressClass]
) -> bool:
    """Whether Tugboat serves `ing`, given the IngressClasses by name."""
    found = classes.get(class_name(ing))
    return found is not None and found.spec.controller == CONTROLLER

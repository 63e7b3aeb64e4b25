"""The downward API: a pod's own fields and its containers' resources, as the text that a
downwardAPI file or an env var holds.

One module for both because Kubernetes gives both the same values: a file and an env var
naming `limits.memory` read the same number. Labels and annotations as a file are one
`key="value"` line each, sorted, as Kubernetes writes them (and rewritten when they
change, since the kubelet refreshes volumes every sync). A limit the container does not
set reads as the node's allocatable amount, as Kubernetes fills it in; a request it does
not set reads 0.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction

from client.quantity import parse_quantity
from kubelet.pods.config import ContainerConfigError
from proto import core_pb2

_SUBSCRIPT = re.compile(r"metadata\.(labels|annotations)\['([^']+)'\]")


@dataclass(frozen=True)
class NodeCapacity:
    """What the node offers: the value of a limit that a container leaves unset."""

    cpu_millis: int = 0
    memory_bytes: int = 0


UNKNOWN_CAPACITY = NodeCapacity()
"""Before the kubelet has read its machine: an unset limit reads 0."""


def field_value(pod: core_pb2.Pod, path: str, pod_ip: str) -> str:
    """The value a fieldRef names; ContainerConfigError for an unsupported path."""
    meta = pod.metadata
    simple = {
        "metadata.name": meta.name,
        "metadata.namespace": meta.namespace,
        "metadata.uid": meta.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name,
        "status.podIP": pod_ip,
        "status.hostIP": pod.status.host_ip,
    }
    if path in simple:
        return simple[path]
    if path in ("metadata.labels", "metadata.annotations"):
        source = meta.labels if path == "metadata.labels" else meta.annotations
        return "\n".join(f"{k}={json.dumps(source[k], ensure_ascii=False)}" for k in sorted(source))
    m = _SUBSCRIPT.fullmatch(path)
    if m:
        source = meta.labels if m.group(1) == "labels" else meta.annotations
        return source.get(m.group(2), "")
    raise ContainerConfigError(f"fieldRef: unsupported fieldPath {path!r}")


def resource_value(
    pod: core_pb2.Pod,
    selector: core_pb2.ResourceFieldSelector,
    capacity: NodeCapacity,
    default_container: str = "",
) -> str:
    """A container's request or limit in whole `divisor`s, rounded up, as Kubernetes gives
    it; ContainerConfigError when the container or the resource is unknown."""
    name = selector.container_name or default_container
    container = next((c for c in pod.spec.containers if c.name == name), None)
    if container is None:
        container = next((c for c in pod.spec.init_containers if c.name == name), None)
    if container is None:
        raise ContainerConfigError(f"resourceFieldRef: no container named {name!r}")
    kind, _, resource = selector.resource.partition(".")
    given = container.resources.limits if kind == "limits" else container.resources.requests
    if kind not in ("limits", "requests") or not resource:
        raise ContainerConfigError(f"resourceFieldRef: unsupported resource {selector.resource!r}")
    amount: Fraction
    if resource in given:
        amount = parse_quantity(given[resource])
    elif kind == "limits" and resource == "cpu":
        amount = Fraction(capacity.cpu_millis, 1000)
    elif kind == "limits" and resource == "memory":
        amount = Fraction(capacity.memory_bytes)
    else:
        amount = Fraction(0)
    divisor = parse_quantity(selector.divisor) if selector.divisor else Fraction(1)
    if divisor <= 0:
        raise ContainerConfigError(f"resourceFieldRef: divisor {selector.divisor!r} is not > 0")
    return str(math.ceil(amount / divisor))

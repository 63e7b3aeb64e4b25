"""The `/scale` view of a workload: autoscaling/v1 Scale over any kind with a replica count.

Kubernetes serves `deployments/scale`, `replicasets/scale` and `statefulsets/scale` as one
small object (spec.replicas; status.replicas and status.selector) so that `kubectl scale`
and the HorizontalPodAutoscaler can resize a workload without knowing its kind. Here the
view is generic: any kind whose spec has `replicas` and a `selector` (a LabelSelector, or
a ReplicationController's label map) and whose status has `replicas` is scalable, found
from its message's fields rather than from a list of kinds, so a kind added later
(StatefulSet) is covered with no edit.

The REST front-end serves the view as JSON; over gRPC (the controllers' and the CLI's
path) the view is read from the object and a new replica count is written back with an
Update of the whole object guarded by the resourceVersion the view was read at, so a
scale made on a stale view is a Conflict, never a lost write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from client import kinds
from client.api import ApiClient
from client.errors import Conflict, NotFound
from client.kinds import Kind
from client.selectors import format_selector
from proto import meta_pb2

__all__ = ["Scale", "as_kubernetes", "get_scale", "is_scalable", "scale_of", "update_scale"]


@dataclass(frozen=True)
class Scale:
    """What the view shows of one workload."""

    kind: Kind
    namespace: str
    name: str
    uid: str
    resource_version: str
    creation_timestamp: str
    spec_replicas: int
    status_replicas: int
    selector: str
    """The pods' label selector in its string form ("app=web"), as Kubernetes' Scale."""


def is_scalable(kind: Kind) -> bool:
    """Whether `kind` has spec.replicas, spec.selector (a LabelSelector or a label map)
    and status.replicas."""
    fields = {f.name: f for f in kind.message.DESCRIPTOR.fields}
    spec, status = fields.get("spec"), fields.get("status")
    if spec is None or status is None or spec.message_type is None:
        return False
    spec_fields = {f.name: f for f in spec.message_type.fields}
    selector = spec_fields.get("selector")
    return (
        "replicas" in spec_fields
        and selector is not None
        and (
            selector.message_type is meta_pb2.LabelSelector.DESCRIPTOR
            or (selector.message_type is not None and selector.message_type.GetOptions().map_entry)
        )
        and status.message_type is not None
        and "replicas" in {f.name for f in status.message_type.fields}
    )


def scale_of(obj: Any) -> Scale:
    """The view of a scalable object (spec.replicas unset counts as its default, 1)."""
    kind = kinds.of(obj)
    meta, spec = obj.metadata, obj.spec
    replicas = spec.replicas if spec.HasField("replicas") else 1
    return Scale(
        kind=kind,
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
        resource_version=meta.resource_version,
        creation_timestamp=meta.creation_timestamp,
        spec_replicas=replicas,
        status_replicas=obj.status.replicas,
        selector=format_selector(spec.selector),
    )


def as_kubernetes(scale: Scale) -> dict[str, Any]:
    """The autoscaling/v1 Scale JSON object."""
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": scale.name,
            "namespace": scale.namespace,
            "uid": scale.uid,
            "resourceVersion": scale.resource_version,
            "creationTimestamp": scale.creation_timestamp or None,
        },
        "spec": {"replicas": scale.spec_replicas},
        "status": {"replicas": scale.status_replicas, "selector": scale.selector},
    }


def _scalable(resource: str) -> Kind:
    kind = kinds.by_resource(resource)
    if not is_scalable(kind):
        raise NotFound(f"the server could not find the requested resource ({resource}/scale)")
    return kind


async def get_scale(api: ApiClient, resource: str, namespace: str, name: str) -> Scale:
    """The view of `resource/name` (NotFound when the kind has none)."""
    kind = _scalable(resource)
    return scale_of(await api.get(kind.resource, namespace, name))


async def update_scale(api: ApiClient, scale: Scale, replicas: int) -> Scale:
    """Set the replicas of the object `scale` was read from, guarded by the view's
    resourceVersion: Conflict when the object changed since."""
    obj: Any = await api.get(scale.kind.resource, scale.namespace, scale.name)
    if obj.metadata.resource_version != scale.resource_version:
        raise Conflict(
            f"Operation cannot be fulfilled on {scale.kind.resource}.{scale.kind.group} "
            f'"{scale.name}": the object has been modified; please apply your changes to '
            "the latest version and try again"
        )
    obj.spec.replicas = replicas
    return scale_of(await api.update(obj))

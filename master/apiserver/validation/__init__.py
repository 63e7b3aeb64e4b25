"""Validation of objects before they are stored.

`validate` runs after defaulting and returns every problem at once, each a FieldError
with Kubernetes' path and wording (`spec.containers[0].ports[0].containerPort: Invalid
value: 0: must be between 1 and 65535, inclusive`). One module per family of kinds:
meta.py (every kind's metadata), pod.py (pods and pod templates), workloads.py,
service.py, cluster.py (the smaller kinds); fields.py has the checks of single fields
they share (quantities, IP addresses, ports); errors.py has the wording.

Where Tugboat deliberately differs from Kubernetes:
- an invalid label value is reported at `metadata.labels[key]` (Kubernetes says only
  `metadata.labels`), so the key at fault is named;
- Endpoints may hold loopback addresses: Tugboat's local nodes live on 127.0.0.0/8;
- an update that leaves a Service's `clusterIP` empty keeps it instead of failing;
- an Event's `type` must be Normal or Warning (Kubernetes checks this only for
  events.k8s.io events);
- finalizer names need only be qualified names (Kubernetes merely warns about ones
  without a domain).
Service names are RFC 1035 labels (start with a letter), as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from client.codec import FieldError
from client.kinds import Kind, Object
from master.apiserver.validation import cluster, pod, service, workloads
from master.apiserver.validation.errors import Errors
from master.apiserver.validation.meta import validate_meta, validate_meta_update

__all__ = ["validate"]

_Check = Callable[[Errors, Any], None]
_UpdateCheck = Callable[[Errors, Any, Any], None]


def _pod(errs: Errors, obj: Any) -> None:
    pod.validate_pod_spec(errs, obj.spec, "spec")


_CREATE: dict[str, _Check] = {
    "Pod": _pod,
    "ReplicaSet": workloads.validate_replica_set,
    "Deployment": workloads.validate_deployment,
    "DaemonSet": workloads.validate_daemon_set,
    "Job": workloads.validate_job,
    "Service": service.validate_service,
    "Endpoints": service.validate_endpoints,
    "Node": cluster.validate_node,
    "ConfigMap": cluster.validate_config_map,
    "Secret": cluster.validate_secret,
    "Event": cluster.validate_event,
    "Lease": cluster.validate_lease,
    "PriorityClass": cluster.validate_priority_class,
}

_UPDATE: dict[str, _UpdateCheck] = {
    "Pod": pod.validate_pod_update,
    "ReplicaSet": workloads.validate_workload_update,
    "Deployment": workloads.validate_workload_update,
    "DaemonSet": workloads.validate_workload_update,
    "Job": workloads.validate_workload_update,
    "Service": service.validate_service_update,
    "ConfigMap": cluster.validate_immutable_data,
    "Secret": cluster.validate_immutable_data,
    "PriorityClass": cluster.validate_priority_class_update,
}


def validate(kind: Kind, obj: Object, old: Object | None = None) -> list[FieldError]:
    """Every problem with `obj` (after defaulting); `old` is the stored object on update."""
    errs = Errors()
    validate_meta(errs, obj.metadata, kind=kind.kind, namespaced=kind.namespaced)
    check = _CREATE.get(kind.kind)
    if check is not None:
        check(errs, obj)
    if old is not None:
        validate_meta_update(errs, obj.metadata, old.metadata)
        update_check = _UPDATE.get(kind.kind)
        if update_check is not None:
            update_check(errs, obj, old)
    return list(errs)

"""RuntimeClasses (node.k8s.io/v1), checked as Kubernetes' node validation checks them.

The rules and words are those of pkg/apis/node/validation (v1.32): the handler is a DNS-1123
label that never changes (pods already running with it would silently change runtime);
the overhead is checked as a container's limits are, so its errors name
`overhead.limits[...]` as Kubernetes' do; the scheduling part's nodeSelector as labels,
its tolerations as a pod's, unique by key, operator, value and effect. The pod fields that
name a class (runtimeClassName, overhead) are checked with the rest of the pod spec.
"""

from __future__ import annotations

from client.codec import to_dict
from client.names import is_dns1123_label
from master.apiserver.validation.errors import Errors, child, index
from master.apiserver.validation.meta import validate_labels
from master.apiserver.validation.pod import validate_overhead, validate_tolerations
from proto import node_pb2

__all__ = ["validate_runtime_class", "validate_runtime_class_update"]


def validate_runtime_class(errs: Errors, rc: node_pb2.RuntimeClass) -> None:
    """Handler, overhead and scheduling."""
    errs.invalid_each("handler", rc.handler, is_dns1123_label(rc.handler))
    if rc.HasField("overhead"):
        validate_overhead(errs, rc.overhead.pod_fixed, "overhead")
    if rc.HasField("scheduling"):
        _scheduling(errs, rc.scheduling, "scheduling")


def _scheduling(errs: Errors, scheduling: node_pb2.Scheduling, path: str) -> None:
    validate_labels(errs, scheduling.node_selector, child(path, "nodeSelector"))
    tolerations = child(path, "tolerations")
    validate_tolerations(errs, scheduling.tolerations, tolerations)
    seen: set[tuple[str, str, str, str]] = set()
    for i, t in enumerate(scheduling.tolerations):
        key = (t.key, t.operator, t.value, t.effect)
        if key in seen:
            errs.duplicate(index(tolerations, i), to_dict(t))
        seen.add(key)


def validate_runtime_class_update(
    errs: Errors, new: node_pb2.RuntimeClass, old: node_pb2.RuntimeClass
) -> None:
    """The handler, once set, stays."""
    if new.handler != old.handler:
        errs.immutable("handler", new.handler)

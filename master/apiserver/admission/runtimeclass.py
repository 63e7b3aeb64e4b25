"""RuntimeClass admission, as Kubernetes' plugin/pkg/admission/runtimeclass, on pod creates.

A pod naming a class gets what the class says every such pod needs: its overhead
(`spec.overhead`, which the scheduler and quotas then count), its nodeSelector and its
tolerations, so the pod lands only where the class's handler is installed. Only pods are
admitted, never the templates of workloads: a Deployment's pods are each admitted when the
ReplicaSet creates them, with the class as it is then. A pod may not bring an overhead of
its own: it could understate what its sandbox costs.

The class is read with the rest of the create's admission reads (namespaced.py), from the
watch cache when it has it; a class the cache lacks is read from etcd before the pod is
refused, as Kubernetes looks a class its informer lacks up live. Refusals are Kubernetes'
words: `pod rejected: RuntimeClass "kata" not found`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, NoReturn

from client import errors
from client.quantity import parse_quantity
from proto import core_pb2

__all__ = ["admit", "merge_tolerations"]


def admit(pod: Any, runtime_class: Any | None, what: str) -> None:
    """Give the pod its class's overhead and scheduling; Forbidden (`what` is forbidden:
    ...) when the class is missing, a nodeSelector key conflicts or the overhead differs.
    `runtime_class` is the class the pod names, None when there is none by that name."""
    spec = pod.spec
    named = spec.HasField("runtime_class_name")
    if named and runtime_class is None:
        _refuse(what, f'pod rejected: RuntimeClass "{spec.runtime_class_name}" not found')
    if runtime_class is not None and runtime_class.HasField("overhead"):
        fixed = runtime_class.overhead.pod_fixed
        if spec.overhead and not _same_amounts(spec.overhead, fixed):
            _refuse(
                what, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
            )
        spec.overhead.clear()
        spec.overhead.update(fixed)
    elif spec.overhead:
        _refuse(
            what,
            "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead",
        )
    if runtime_class is not None and runtime_class.HasField("scheduling"):
        _schedule(pod, runtime_class.scheduling, what)


def _refuse(what: str, reason: str) -> NoReturn:
    raise errors.Forbidden(f"{what} is forbidden: {reason}")


def _amount(text: str) -> Fraction | str:
    try:
        return parse_quantity(text)
    except ValueError:
        return text


def _same_amounts(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Equal as quantities ("0.5" is "500m"), as Kubernetes' semantic equality compares."""
    return a.keys() == b.keys() and all(_amount(a[k]) == _amount(b[k]) for k in a)


def _schedule(pod: Any, scheduling: Any, what: str) -> None:
    selector = pod.spec.node_selector
    for key in sorted(scheduling.node_selector):
        wanted = scheduling.node_selector[key]
        if key in selector and selector[key] != wanted:
            _refuse(
                what,
                f"conflict: runtimeClass.scheduling.nodeSelector[{key}] = {wanted}; "
                f"pod.spec.nodeSelector[{key}] = {selector[key]}",
            )
        selector[key] = wanted
    merged = merge_tolerations(pod.spec.tolerations, scheduling.tolerations)
    del pod.spec.tolerations[:]
    pod.spec.tolerations.extend(merged)


def merge_tolerations(
    first: Sequence[core_pb2.Toleration], second: Sequence[core_pb2.Toleration]
) -> list[core_pb2.Toleration]:
    """Both lists, in order, without those another one kept tolerates a superset of
    (Kubernetes' MergeTolerations: of two equal ones the first stays)."""
    every = [*first, *second]
    merged: list[core_pb2.Toleration] = []
    for i, t in enumerate(every):
        if any(_is_superset(kept, t) for kept in merged):
            continue
        if any(t != later and _is_superset(later, t) for later in every[i + 1 :]):
            continue
        merged.append(t)
    return merged


def _is_superset(ss: core_pb2.Toleration, t: core_pb2.Toleration) -> bool:
    """Whether `ss` tolerates every taint `t` does."""
    if ss == t:
        return True
    # An empty key with Exists matches every key.
    if t.key != ss.key and (ss.key or ss.operator != "Exists"):
        return False
    # An empty effect matches every effect.
    if t.effect != ss.effect and ss.effect:
        return False
    if ss.effect == "NoExecute" and ss.HasField("toleration_seconds"):
        if not t.HasField("toleration_seconds") or t.toleration_seconds > ss.toleration_seconds:
            return False
    if ss.operator in ("Equal", ""):
        return t.operator == "Equal" and t.value == ss.value
    return ss.operator == "Exists"

"""Taints and tolerations: which taints a pod tolerates and when NoExecute evicts it.

Kubernetes' rules (`k8s.io/api/core/v1` ToleratesTaint, the taint-eviction controller):
a toleration matches a taint when its effect is empty or equal, its key is empty (only
with operator Exists) or equal, and, for operator Equal (the default), its value is
equal. A pod on a node with NoExecute taints stays only if every such taint is
tolerated, and then only for the shortest tolerationSeconds among the tolerations used
(no tolerationSeconds: forever).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from proto import core_pb2

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
"""Put by an operator on a node known to be down: its terminating pods may go at once."""
NO_EXECUTE = "NoExecute"
NO_SCHEDULE = "NoSchedule"


def tolerates(toleration: core_pb2.Toleration, taint: core_pb2.Taint) -> bool:
    """Whether `toleration` matches `taint`."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    return False


def untolerated(
    taints: Iterable[core_pb2.Taint],
    tolerations: Sequence[core_pb2.Toleration],
    effects: tuple[str, ...],
) -> list[core_pb2.Taint]:
    """The taints with one of `effects` that no toleration matches."""
    return [
        t
        for t in taints
        if t.effect in effects and not any(tolerates(tol, t) for tol in tolerations)
    ]


def eviction_delay(
    taints: Iterable[core_pb2.Taint], tolerations: Sequence[core_pb2.Toleration]
) -> float | None:
    """Seconds a pod may stay on a node with these taints: 0 now, None forever.

    Only NoExecute taints count. Each must be tolerated (else 0); the delay is the
    smallest tolerationSeconds of the tolerations that matched (negative counts as 0).
    """
    no_execute = [t for t in taints if t.effect == NO_EXECUTE]
    if not no_execute:
        return None
    shortest: float | None = None
    for taint in no_execute:
        matching = [tol for tol in tolerations if tolerates(tol, taint)]
        if not matching:
            return 0.0
        for tol in matching:
            if tol.HasField("toleration_seconds"):
                seconds = max(0.0, float(tol.toleration_seconds))
                shortest = seconds if shortest is None else min(shortest, seconds)
    return shortest


def has_taint(node: core_pb2.Node, key: str, effect: str) -> bool:
    """Whether the node carries taint `key` with `effect`."""
    return any(t.key == key and t.effect == effect for t in node.spec.taints)

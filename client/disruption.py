"""PodDisruptionBudget arithmetic, shared by the disruption controller (which writes a
budget's status) and the API server's eviction subresource (which spends it).

Both must agree on which pods a budget covers and which of them count as healthy, and
they run in different processes that never import each other, so the rules live here,
as Kubernetes keeps them in its policy helpers:

- a policy/v1 budget with no selector covers no pod; an empty selector covers every pod
  of its namespace;
- a pod is healthy when its Ready condition is True and it is not being deleted;
- `minAvailable: 3` wants 3 healthy pods of however many there are; a percentage of
  minAvailable, or any maxUnavailable, is taken of the pods the workloads want
  (`expected`), rounding the healthy ones wanted up, as Kubernetes does.
"""

from __future__ import annotations

import math

from client.selectors import from_proto
from proto import core_pb2, meta_pb2, policy_pb2

__all__ = ["covers", "desired_healthy", "is_healthy", "scaled"]


def covers(pdb: policy_pb2.PodDisruptionBudget, pod: core_pb2.Pod) -> bool:
    """Whether the budget counts the pod (same namespace, selected)."""
    if pod.metadata.namespace != pdb.metadata.namespace or not pdb.spec.HasField("selector"):
        return False
    try:
        return from_proto(pdb.spec.selector).matches(pod.metadata.labels)
    except ValueError:
        return False


def is_healthy(pod: core_pb2.Pod) -> bool:
    """Ready and not on its way out."""
    if pod.metadata.deletion_timestamp:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def scaled(value: meta_pb2.IntOrString, total: int, *, round_up: bool) -> int:
    """A count as given, or a percentage of `total`."""
    if value.WhichOneof("value") != "str_val":
        return value.int_val
    share = total * int(value.str_val.rstrip("%")) / 100
    return math.ceil(share) if round_up else math.floor(share)


def desired_healthy(spec: policy_pb2.PodDisruptionBudgetSpec, expected: int) -> int:
    """How many healthy pods the budget wants, of `expected`."""
    if spec.HasField("max_unavailable"):
        return max(0, expected - scaled(spec.max_unavailable, expected, round_up=True))
    if spec.HasField("min_available"):
        return scaled(spec.min_available, expected, round_up=True)
    return 0

"""Helpers every controller shares: time, pod state, owner references, conditions, ranking.

Kept free of I/O so that the rules (what counts as ready, available, active; which pod
goes first on a scale-down) are table-tested on their own, as Kubernetes'
`pkg/controller/controller_utils.go` defines them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cmp_to_key
from typing import Any

from client import kinds
from client.kinds import Object
from client.owners import owner_reference as owner_reference  # the controllers read it here
from client.selectors import LabelSelector, from_proto
from client.timestamps import from_epoch, try_epoch
from proto import core_pb2, meta_pb2

CONTROLLER_UID_INDEX = "controller-uid"
"""Objects by the uid of their controlling owner ("" when none)."""
OWNER_UID_INDEX = "owner-uid"
"""Objects by the uid of every owner."""


def now() -> float:
    """Wall-clock seconds since the epoch (timestamps in the API are wall-clock)."""
    return datetime.now(UTC).timestamp()


def rfc3339(at: float | None = None) -> str:
    """Kubernetes' Time to the second: `2024-05-01T12:00:00Z`."""
    return from_epoch(now() if at is None else at)


def parse_time(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp, None when empty or malformed."""
    return try_epoch(text)


# ---- pods ----


def is_pod_active(pod: core_pb2.Pod) -> bool:
    """Neither finished nor being deleted: the pods a controller counts as its replicas."""
    return pod.status.phase not in ("Succeeded", "Failed") and not pod.metadata.deletion_timestamp


def is_pod_terminating(pod: core_pb2.Pod) -> bool:
    """Marked for deletion."""
    return bool(pod.metadata.deletion_timestamp)


def pod_condition(pod: core_pb2.Pod, type: str) -> meta_pb2.Condition | None:
    """The pod's condition of `type`, or None."""
    for c in pod.status.conditions:
        if c.type == type:
            return c
    return None


def is_pod_ready(pod: core_pb2.Pod) -> bool:
    """The Ready condition is True."""
    c = pod_condition(pod, "Ready")
    return c is not None and c.status == "True"


def ready_since(pod: core_pb2.Pod) -> float | None:
    """When the pod last turned Ready, or None when it is not ready."""
    c = pod_condition(pod, "Ready")
    if c is None or c.status != "True":
        return None
    return parse_time(c.last_transition_time) or 0.0


def is_pod_available(pod: core_pb2.Pod, min_ready_seconds: int, at: float) -> bool:
    """Ready for at least `min_ready_seconds` by `at` (Kubernetes' IsPodAvailable)."""
    since = ready_since(pod)
    if since is None:
        return False
    return min_ready_seconds <= 0 or since + min_ready_seconds <= at


def available_in(pod: core_pb2.Pod, min_ready_seconds: int, at: float) -> float | None:
    """Seconds until a ready-but-not-yet-available pod becomes available, else None."""
    since = ready_since(pod)
    if since is None or min_ready_seconds <= 0:
        return None
    left = since + min_ready_seconds - at
    return left if left > 0 else None


def restarts(pod: core_pb2.Pod) -> int:
    """The highest restart count of the pod's containers."""
    return max((s.restart_count for s in pod.status.container_statuses), default=0)


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_rank(pod: core_pb2.Pod) -> tuple[int, int, int, float, int, float]:
    """Sort key putting the pod to delete first first (Kubernetes' ActivePods order, what
    Jobs use; a ReplicaSet's scale-down adds more, see `scale_down_order`).

    Unscheduled before scheduled; Pending before Unknown before Running; not ready before
    ready; ready for less time before ready for longer; more restarts before fewer; newer
    before older.
    """
    since = ready_since(pod)
    created = parse_time(pod.metadata.creation_timestamp) or 0.0
    return (
        1 if pod.spec.node_name else 0,
        _PHASE_RANK.get(pod.status.phase, 0),
        0 if since is None else 1,
        -(since or 0.0),
        -restarts(pod),
        -created,
    )


POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
"""A pod's annotation: an int32; a ReplicaSet scaling down removes lower costs first."""

_DELETION_COST = re.compile(r"0|[1-9][0-9]*|-[0-9]+")


def deletion_cost(pod: core_pb2.Pod) -> int:
    """The pod's deletion cost; 0 when unset or not an int32 in Kubernetes' spelling (no
    plus sign, no leading zero), as Kubernetes reads it."""
    text = pod.metadata.annotations.get(POD_DELETION_COST)
    if text is None or not _DELETION_COST.fullmatch(text):
        return 0
    value = int(text)
    return value if -(2**31) <= value < 2**31 else 0


@dataclass(frozen=True, slots=True)
class _Candidate:
    """What a ReplicaSet's scale-down compares of one pod."""

    pod: core_pb2.Pod
    scheduled: bool
    phase: int
    ready: bool
    cost: int
    colocated: int
    ready_at: float | None
    restarts: int
    created: float | None


def scale_down_order(
    pods: Sequence[core_pb2.Pod], related: Iterable[core_pb2.Pod], at: float
) -> list[core_pb2.Pod]:
    """`pods` with the one a ReplicaSet deletes first first (Kubernetes' ActivePodsWithRanks
    with PodDeletionCost and LogarithmicScaleDown, both on by default in 1.32).

    Unscheduled before scheduled; Pending before Unknown before Running; not ready before
    ready; lower pod-deletion-cost first; then a pod on a node holding more of the active
    `related` pods (those of every ReplicaSet with the same controller) first, which
    spreads a Deployment's survivors over its nodes; then, both ready, ready more
    recently first; more restarts first; created more recently first. Times are compared
    by the power of two of their age at `at`, and pods in the same power of two by uid,
    so that pods of about the same age go in an arbitrary but fixed order instead of
    always the newest, which would keep removing whatever a scale-up just placed (on a
    new node, say). A missing time counts as the most recent.
    """
    on_node: dict[str, int] = {}
    for pod in related:
        if is_pod_active(pod):
            on_node[pod.spec.node_name] = on_node.get(pod.spec.node_name, 0) + 1
    candidates = [
        _Candidate(
            pod=pod,
            scheduled=bool(pod.spec.node_name),
            phase=_PHASE_RANK.get(pod.status.phase, 0),
            ready=is_pod_ready(pod),
            cost=deletion_cost(pod),
            colocated=on_node.get(pod.spec.node_name, 0),
            ready_at=_ready_transition(pod),
            restarts=restarts(pod),
            created=parse_time(pod.metadata.creation_timestamp),
        )
        for pod in pods
    ]

    def compare(a: _Candidate, b: _Candidate) -> int:
        if a.scheduled != b.scheduled:
            return -1 if not a.scheduled else 1
        if a.phase != b.phase:
            return -1 if a.phase < b.phase else 1
        if a.ready != b.ready:
            return -1 if not a.ready else 1
        if a.cost != b.cost:
            return -1 if a.cost < b.cost else 1
        if a.colocated != b.colocated:
            return -1 if a.colocated > b.colocated else 1
        if a.ready and b.ready and a.ready_at != b.ready_at:
            return _newer_first(a, b, a.ready_at, b.ready_at, at)
        if a.restarts != b.restarts:
            return -1 if a.restarts > b.restarts else 1
        if a.created != b.created:
            return _newer_first(a, b, a.created, b.created, at)
        return 0

    return [c.pod for c in sorted(candidates, key=cmp_to_key(compare))]


def _ready_transition(pod: core_pb2.Pod) -> float | None:
    c = pod_condition(pod, "Ready")
    if c is None or c.status != "True":
        return None
    return parse_time(c.last_transition_time)


def _newer_first(
    a: _Candidate, b: _Candidate, ta: float | None, tb: float | None, at: float
) -> int:
    if ta is None or tb is None:
        return -1 if ta is None else 1
    bucket_a, bucket_b = _age_bucket(ta, at), _age_bucket(tb, at)
    if bucket_a == bucket_b:
        ua, ub = a.pod.metadata.uid, b.pod.metadata.uid
        return -1 if ua < ub else (1 if ua > ub else 0)
    return -1 if bucket_a < bucket_b else 1


def _age_bucket(t: float, at: float) -> int:
    """The power of two of the age in nanoseconds (-1 for a time not in the past)."""
    age = (at - t) * 1e9
    return int(math.log2(age)) if age >= 1 else -1


# ---- owners ----


def controller_ref(obj: Object) -> meta_pb2.OwnerReference | None:
    """The owner reference with controller: true, if any."""
    for ref in obj.metadata.owner_references:
        if ref.HasField("controller") and ref.controller:
            return ref
    return None


def controller_uid(obj: Object) -> str:
    """The uid of the controlling owner, "" when none (an index function)."""
    ref = controller_ref(obj)
    return ref.uid if ref is not None else ""


def owner_uids(obj: Object) -> list[str]:
    """Every owner's uid (an index function)."""
    return [ref.uid for ref in obj.metadata.owner_references]


def remove_owner(obj: Object, uid: str) -> bool:
    """Drop the owner references to `uid`; whether any was dropped."""
    refs = obj.metadata.owner_references
    keep = [r for r in refs if r.uid != uid]
    if len(keep) == len(refs):
        return False
    copies = [meta_pb2.OwnerReference(**_ref_fields(r)) for r in keep]
    del refs[:]
    refs.extend(copies)
    return True


def _ref_fields(ref: meta_pb2.OwnerReference) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "api_version": ref.api_version,
        "kind": ref.kind,
        "name": ref.name,
        "uid": ref.uid,
    }
    if ref.HasField("controller"):
        fields["controller"] = ref.controller
    if ref.HasField("block_owner_deletion"):
        fields["block_owner_deletion"] = ref.block_owner_deletion
    return fields


def selector_of(selector: Any) -> LabelSelector | None:
    """The selector (a LabelSelector, or a ReplicationController's label map), or None
    when it is invalid (validation should have refused it)."""
    if not isinstance(selector, meta_pb2.LabelSelector):
        selector = meta_pb2.LabelSelector(match_labels=dict(selector))
    try:
        return from_proto(selector)
    except ValueError:
        return None


def selects(selector: Any, labels: Any) -> bool:
    """Whether a non-empty, valid selector matches `labels` (an empty one matches nothing)."""
    parsed = selector_of(selector)
    return parsed is not None and not parsed.empty() and parsed.matches(labels)


# ---- conditions ----

REPLICA_FAILURE = "ReplicaFailure"
"""A ReplicaSet's condition when the API refused its pod writes; its Deployment shows it."""


def get_condition(conditions: Iterable[meta_pb2.Condition], type: str) -> meta_pb2.Condition | None:
    """The condition of `type`, or None."""
    for c in conditions:
        if c.type == type:
            return c
    return None


def set_condition(status: Any, condition: meta_pb2.Condition) -> bool:
    """Set a condition as Kubernetes does; whether anything changed.

    The same status and reason leave the existing condition alone (times included); a
    new status gets a new lastTransitionTime, the same status keeps the old one.
    """
    current = get_condition(status.conditions, condition.type)
    if current is not None and current.status == condition.status:
        if current.reason == condition.reason:
            return False
        condition.last_transition_time = current.last_transition_time
    remove_condition(status, condition.type)
    status.conditions.append(condition)
    return True


def remove_condition(status: Any, type: str) -> bool:
    """Drop the condition of `type`; whether there was one."""
    keep = [c for c in status.conditions if c.type != type]
    if len(keep) == len(status.conditions):
        return False
    copies = [meta_pb2.Condition.FromString(c.SerializeToString()) for c in keep]
    del status.conditions[:]
    status.conditions.extend(copies)
    return True


def new_condition(type: str, status: str, reason: str, message: str) -> meta_pb2.Condition:
    """A condition stamped now (transition and update time)."""
    stamp = rfc3339()
    return meta_pb2.Condition(
        type=type,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=stamp,
        last_update_time=stamp,
    )


def describe(obj: Object) -> str:
    """`Kind namespace/name` for logs."""
    return f"{obj.kind} {kinds.key(obj)}"

"""The arithmetic of Deployments, as Kubernetes' `pkg/controller/deployment/util` does it.

Pure functions, table-tested: the pod-template hash that names ReplicaSets, maxSurge and
maxUnavailable resolved against the replica count (surge rounds up, unavailable rounds
down, and both at 0 would stall so unavailable becomes 1), how far the new ReplicaSet
may grow and the old ones shrink, revisions, and the progress conditions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from client.timestamps import to_epoch
from proto import core_pb2, meta_pb2, workloads_pb2

POD_TEMPLATE_HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"

# Progressing condition reasons (Kubernetes' deployment/util).
NEW_RS_CREATED = "NewReplicaSetCreated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"

_SAFE = "bcdfghjklmnpqrstvwxz2456789"
"""Kubernetes' rand.SafeEncodeString alphabet: no vowels (no words), no 0/1/3 (no confusion)."""


def fnv32a(data: bytes) -> int:
    """FNV-1a, 32 bits."""
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """Each character mapped into the safe alphabet, as rand.SafeEncodeString does."""
    return "".join(_SAFE[ord(c) % len(_SAFE)] for c in text)


def template_without_hash(template: core_pb2.PodTemplateSpec) -> core_pb2.PodTemplateSpec:
    """A copy of the template without the pod-template-hash label."""
    copy = core_pb2.PodTemplateSpec()
    copy.CopyFrom(template)
    if POD_TEMPLATE_HASH in copy.metadata.labels:
        del copy.metadata.labels[POD_TEMPLATE_HASH]
    return copy


def pod_template_hash(
    template: core_pb2.PodTemplateSpec, collision_count: int | None = None
) -> str:
    """The template's hash label value: fnv32a of the template (+ collision count), encoded."""
    data = template_without_hash(template).SerializeToString(deterministic=True)
    if collision_count is not None:
        data += str(collision_count).encode()
    return safe_encode(str(fnv32a(data)))


def equal_ignore_hash(a: core_pb2.PodTemplateSpec, b: core_pb2.PodTemplateSpec) -> bool:
    """Whether two templates are the same apart from the pod-template-hash label."""
    return template_without_hash(a).SerializeToString(deterministic=True) == template_without_hash(
        b
    ).SerializeToString(deterministic=True)


def scaled_value(value: meta_pb2.IntOrString, total: int, round_up: bool) -> int:
    """An int, or a percentage of `total` rounded up or down; ValueError when malformed."""
    which = value.WhichOneof("value")
    if which is None:
        return 0
    if which == "int_val":
        return value.int_val
    text = value.str_val
    if not text.endswith("%") or not text[:-1].isdigit():
        raise ValueError(f'invalid value for IntOrString: invalid value "{text}": not a percentage')
    exact = int(text[:-1]) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def resolve_fenceposts(
    max_surge: meta_pb2.IntOrString, max_unavailable: meta_pb2.IntOrString, desired: int
) -> tuple[int, int]:
    """(surge, unavailable) for `desired` replicas; both 0 becomes unavailable 1."""
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: workloads_pb2.Deployment) -> int:
    """How many pods above spec.replicas a rolling update may run (0 for Recreate)."""
    if d.spec.strategy.type != "RollingUpdate":
        return 0
    ru = d.spec.strategy.rolling_update
    return resolve_fenceposts(ru.max_surge, ru.max_unavailable, d.spec.replicas)[0]


def max_unavailable(d: workloads_pb2.Deployment) -> int:
    """How many of spec.replicas may be unavailable during a rolling update."""
    if d.spec.strategy.type != "RollingUpdate" or d.spec.replicas == 0:
        return 0
    ru = d.spec.strategy.rolling_update
    unavailable = resolve_fenceposts(ru.max_surge, ru.max_unavailable, d.spec.replicas)[1]
    return min(unavailable, d.spec.replicas)


def spec_replicas(rss: Sequence[workloads_pb2.ReplicaSet]) -> int:
    """The sum of spec.replicas."""
    return sum(rs.spec.replicas for rs in rss)


def actual_replicas(rss: Sequence[workloads_pb2.ReplicaSet]) -> int:
    """The sum of status.replicas."""
    return sum(rs.status.replicas for rs in rss)


def available_replicas(rss: Sequence[workloads_pb2.ReplicaSet]) -> int:
    """The sum of status.availableReplicas."""
    return sum(rs.status.available_replicas for rs in rss)


def ready_replicas(rss: Sequence[workloads_pb2.ReplicaSet]) -> int:
    """The sum of status.readyReplicas."""
    return sum(rs.status.ready_replicas for rs in rss)


def new_rs_replicas(
    d: workloads_pb2.Deployment,
    all_rss: Sequence[workloads_pb2.ReplicaSet],
    new_rs: workloads_pb2.ReplicaSet,
) -> int:
    """What the new ReplicaSet's replicas should be now (Kubernetes' NewRSNewReplicas).

    Kubernetes counts the sets' spec.replicas against replicas + maxSurge, so for as long
    as a shrunk old set has not yet removed its pods, the new set's pods come on top of
    them. A set is counted here at the larger of what it should have and what it last
    reported having: the new set grows only once the old set says its pods went, which
    it says only after their deletion, so a rollout's pods stay within replicas +
    maxSurge. (A report can still lag low for a set grown and shrunk again before it
    wrote its status; a rollout only shrinks the old sets.)
    """
    if d.spec.strategy.type != "RollingUpdate":
        return d.spec.replicas
    current = sum(max(rs.spec.replicas, rs.status.replicas) for rs in all_rss)
    ceiling = d.spec.replicas + max_surge(d)
    if current >= ceiling:
        return new_rs.spec.replicas
    grow = min(ceiling - current, max(0, d.spec.replicas - new_rs.spec.replicas))
    return new_rs.spec.replicas + grow


def old_scale_down_budget(
    d: workloads_pb2.Deployment,
    all_rss: Sequence[workloads_pb2.ReplicaSet],
    new_rs: workloads_pb2.ReplicaSet | None,
) -> int:
    """How many old replicas may go now without breaking maxUnavailable (maxScaledDown)."""
    min_available = d.spec.replicas - max_unavailable(d)
    new_unavailable = 0
    if new_rs is not None:
        new_unavailable = new_rs.spec.replicas - new_rs.status.available_replicas
    return spec_replicas(all_rss) - min_available - new_unavailable


class Cleanup(NamedTuple):
    """The old ReplicaSets' unavailable replicas to drop first."""

    plan: dict[str, int]
    """New replicas by ReplicaSet name."""
    dropped: int
    stale: bool
    """An old ReplicaSet reports more available pods than it is asked for: it was just
    shrunk and has not said so yet, so availability must not be counted from it until it
    does (Kubernetes gives up scaling old ReplicaSets down for that sync)."""


def cleanup_unhealthy(old_rss: Sequence[workloads_pb2.ReplicaSet], budget: int) -> Cleanup:
    """Old ReplicaSets' unavailable replicas to drop, oldest set first, up to `budget`."""
    plan: dict[str, int] = {}
    dropped = 0
    for rs in sorted(old_rss, key=_age_key):
        if dropped >= budget:
            break
        replicas = rs.spec.replicas
        if replicas == 0 or replicas == rs.status.available_replicas:
            continue
        if replicas < rs.status.available_replicas:
            return Cleanup(plan, dropped, stale=True)
        drop = min(budget - dropped, replicas - rs.status.available_replicas)
        plan[rs.metadata.name] = replicas - drop
        dropped += drop
    return Cleanup(plan, dropped, stale=False)


def scale_down_old(
    d: workloads_pb2.Deployment,
    all_rss: Sequence[workloads_pb2.ReplicaSet],
    old_rss: Sequence[workloads_pb2.ReplicaSet],
) -> dict[str, int]:
    """Old ReplicaSets to shrink while availability stays >= replicas - maxUnavailable."""
    min_available = d.spec.replicas - max_unavailable(d)
    available = available_replicas(all_rss)
    if available <= min_available:
        return {}
    total = available - min_available
    plan: dict[str, int] = {}
    dropped = 0
    for rs in sorted(old_rss, key=_age_key):
        if dropped >= total:
            break
        if rs.spec.replicas == 0:
            continue
        drop = min(rs.spec.replicas, total - dropped)
        plan[rs.metadata.name] = rs.spec.replicas - drop
        dropped += drop
    return plan


def _age_key(rs: workloads_pb2.ReplicaSet) -> tuple[str, str]:
    return (rs.metadata.creation_timestamp, rs.metadata.name)


def history_to_delete(
    old_rss: Sequence[workloads_pb2.ReplicaSet], limit: int
) -> list[workloads_pb2.ReplicaSet]:
    """The old ReplicaSets revisionHistoryLimit `limit` removes (Kubernetes'
    cleanupDeployment).

    Only the oldest revisions beyond the limit are candidates, and of those only the ones
    fully scaled down, with no pods left, and whose latest spec their controller has seen;
    one still busy keeps its place, and no newer revision goes in its stead, so the
    revisions kept for a rollback are always the newest ones.
    """
    alive = [rs for rs in old_rss if not rs.metadata.deletion_timestamp]
    excess = len(alive) - limit
    if excess <= 0:
        return []
    oldest = sorted(alive, key=lambda rs: (revision(rs), *_age_key(rs)))[:excess]
    return [
        rs
        for rs in oldest
        if rs.spec.replicas == 0
        and rs.status.replicas == 0
        and rs.status.observed_generation >= rs.metadata.generation
    ]


def revision(rs: workloads_pb2.ReplicaSet) -> int:
    """The ReplicaSet's revision annotation (0 when missing or malformed)."""
    try:
        return int(rs.metadata.annotations.get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: Sequence[workloads_pb2.ReplicaSet]) -> int:
    """The highest revision among `rss`."""
    return max((revision(rs) for rs in rss), default=0)


def is_complete(d: workloads_pb2.Deployment, status: workloads_pb2.DeploymentStatus) -> bool:
    """Every replica updated and available, and the latest spec observed."""
    n = d.spec.replicas
    return (
        status.updated_replicas == n
        and status.replicas == n
        and status.available_replicas == n
        and status.observed_generation >= d.metadata.generation
    )


def is_progressing(d: workloads_pb2.Deployment, status: workloads_pb2.DeploymentStatus) -> bool:
    """Whether `status` shows progress over the Deployment's recorded status."""
    old = d.status
    return (
        status.updated_replicas > old.updated_replicas
        or (status.replicas - status.updated_replicas) < (old.replicas - old.updated_replicas)
        or status.ready_replicas > old.ready_replicas
        or status.available_replicas > old.available_replicas
    )


def has_progress_deadline(d: workloads_pb2.Deployment) -> bool:
    """A deadline is set (Kubernetes treats MaxInt32 as none)."""
    return d.spec.HasField("progress_deadline_seconds") and (
        d.spec.progress_deadline_seconds != 2**31 - 1
    )


def _annotation_int(rs: workloads_pb2.ReplicaSet, key: str) -> int | None:
    try:
        return int(rs.metadata.annotations[key])
    except (KeyError, ValueError):
        return None


def is_scaling_event(d: workloads_pb2.Deployment, rss: Sequence[workloads_pb2.ReplicaSet]) -> bool:
    """Whether spec.replicas changed since the active ReplicaSets were last sized."""
    for rs in rss:
        if rs.spec.replicas <= 0:
            continue
        desired = _annotation_int(rs, DESIRED_REPLICAS)
        if desired is not None and desired != d.spec.replicas:
            return True
    return False


def active_or_latest(
    new_rs: workloads_pb2.ReplicaSet | None, old_rss: Sequence[workloads_pb2.ReplicaSet]
) -> workloads_pb2.ReplicaSet | None:
    """The only active ReplicaSet; the newest one when none is active; None when several."""
    olds = sorted(old_rss, key=_age_key, reverse=True)
    everything = [*olds, *([new_rs] if new_rs is not None else [])]
    active = [rs for rs in everything if rs.spec.replicas > 0]
    if len(active) == 1:
        return active[0]
    if not active:
        return new_rs if new_rs is not None else (olds[0] if olds else None)
    return None


def is_saturated(d: workloads_pb2.Deployment, rs: workloads_pb2.ReplicaSet | None) -> bool:
    """The ReplicaSet runs every replica of the Deployment, all available."""
    if rs is None:
        return False
    n = d.spec.replicas
    return (
        rs.spec.replicas == n
        and _annotation_int(rs, DESIRED_REPLICAS) == n
        and rs.status.available_replicas == n
    )


def _fraction(rs: workloads_pb2.ReplicaSet, d: workloads_pb2.Deployment) -> int:
    if d.spec.replicas == 0:
        return -rs.spec.replicas
    allowed = d.spec.replicas + max_surge(d)
    annotated = _annotation_int(rs, MAX_REPLICAS) or d.status.replicas
    if annotated <= 0:
        return 0
    # Go's math.Round: halves away from zero.
    exact = rs.spec.replicas * allowed / annotated
    return math.floor(exact + 0.5) - rs.spec.replicas


def proportional_sizes(
    d: workloads_pb2.Deployment, active: Sequence[workloads_pb2.ReplicaSet]
) -> dict[str, int]:
    """New sizes when a rolling Deployment is scaled mid-rollout (Kubernetes' scale()).

    Each active ReplicaSet grows or shrinks in proportion to its share of the previous
    size (the max-replicas annotation); the rounding leftover goes to the largest one
    (the newer on ties when growing, the older when shrinking).
    """
    total = spec_replicas(active)
    allowed = d.spec.replicas + max_surge(d) if d.spec.replicas > 0 else 0
    to_add = allowed - total
    if to_add > 0:
        ordered = sorted(active, key=lambda rs: (-rs.spec.replicas, _negated_age(rs)))
    else:
        ordered = sorted(active, key=lambda rs: (-rs.spec.replicas, _age_key(rs)))
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        proportion = 0
        if to_add != 0 and rs.spec.replicas != 0 and to_add != added:
            share = _fraction(rs, d)
            left = to_add - added
            proportion = min(share, left) if to_add > 0 else max(share, left)
        sizes[rs.metadata.name] = rs.spec.replicas + proportion
        added += proportion
    if ordered and to_add != 0:
        first = ordered[0].metadata.name
        sizes[first] = max(0, sizes[first] + to_add - added)
    return sizes


def _negated_age(rs: workloads_pb2.ReplicaSet) -> tuple[float, str]:
    created = rs.metadata.creation_timestamp
    try:
        stamp = to_epoch(created)
    except ValueError:
        stamp = 0.0
    return (-stamp, rs.metadata.name)

"""Indexed Jobs: which index a pod runs, which indexes are done, failed or still to run.

An Indexed Job (completionMode: Indexed) succeeds index by index: each of 0 ..
completions-1 needs one pod that succeeded. The index travels on the pod as Kubernetes
writes it: the annotation (and label) `batch.kubernetes.io/job-completion-index`, the
environment variable JOB_COMPLETION_INDEX read from that annotation by the downward API,
and the hostname `<job>-<index>`, so a headless Service can give each index a DNS name.

Tugboat keeps a Job's pods until the Job goes, so the failures of an index are counted
from its failed pods rather than carried on the newest pod as Kubernetes does; the count
is still written on each new pod (`batch.kubernetes.io/job-index-failure-count`) for
whoever reads it there. Indexes the status lists as completed or failed stay so, even
when their pods are deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from master.controllers import controller_utils as cu
from proto import core_pb2, workloads_pb2

INDEX_KEY = "batch.kubernetes.io/job-completion-index"
FAILURE_COUNT_KEY = "batch.kubernetes.io/job-index-failure-count"
INDEX_ENV = "JOB_COMPLETION_INDEX"


def is_indexed(job: workloads_pb2.Job) -> bool:
    return job.spec.completion_mode == "Indexed"


def index_of(pod: core_pb2.Pod, completions: int) -> int | None:
    """The pod's completion index, or None when it has none below `completions`."""
    text = pod.metadata.annotations.get(INDEX_KEY, pod.metadata.labels.get(INDEX_KEY, ""))
    if not text.isdigit():
        return None
    index = int(text)
    return index if index < completions else None


@dataclass
class IndexedPods:
    """An Indexed Job's pods sorted by what their index needs."""

    succeeded: set[int] = field(default_factory=set)
    active: dict[int, core_pb2.Pod] = field(default_factory=dict)
    """One active pod per index that still needs it."""
    surplus: list[core_pb2.Pod] = field(default_factory=list)
    """Active pods to delete: no valid index, a second pod for an index, or an index that
    has succeeded or failed."""


def sort_pods(
    active: Iterable[core_pb2.Pod],
    succeeded_pods: Iterable[core_pb2.Pod],
    completions: int,
    failed_indexes: set[int],
    done_before: set[int] | None = None,
) -> IndexedPods:
    """`done_before`: indexes the Job's status counted as succeeded already (their pods
    may be gone)."""
    out = IndexedPods(succeeded=set(done_before or ()))
    for pod in succeeded_pods:
        index = index_of(pod, completions)
        if index is not None:
            out.succeeded.add(index)
    # The best-placed pod of an index stays, as ReplicaSets keep their best pods.
    for pod in sorted(active, key=cu.deletion_rank, reverse=True):
        index = index_of(pod, completions)
        if (
            index is None
            or index in out.active
            or index in out.succeeded
            or index in failed_indexes
        ):
            out.surplus.append(pod)
        else:
            out.active[index] = pod
    return out


def pending(completions: int, busy: Iterable[int]) -> list[int]:
    """The indexes below `completions` that are not in `busy`, lowest first."""
    taken = set(busy)
    return [i for i in range(completions) if i not in taken]


def stamp(pod: core_pb2.Pod, job: workloads_pb2.Job, index: int, failures: int) -> None:
    """Make a pod from the Job's template the pod of `index`."""
    meta = pod.metadata
    meta.generate_name = f"{job.metadata.name}-{index}-"
    meta.annotations[INDEX_KEY] = str(index)
    meta.labels[INDEX_KEY] = str(index)
    if job.spec.HasField("backoff_limit_per_index"):
        meta.annotations[FAILURE_COUNT_KEY] = str(failures)
    if not pod.spec.hostname:
        pod.spec.hostname = f"{job.metadata.name}-{index}"
    for container in [*pod.spec.init_containers, *pod.spec.containers]:
        if any(e.name == INDEX_ENV for e in container.env):
            continue
        env = container.env.add(name=INDEX_ENV)
        env.value_from.field_ref.api_version = "v1"
        env.value_from.field_ref.field_path = f"metadata.annotations['{INDEX_KEY}']"

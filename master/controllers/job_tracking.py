"""Counting a Job's finished pods once, with a finalizer, as Kubernetes' job controller has
done since 1.26.

Counting the pods that are present (what Tugboat did before) forgets a pod that leaves
the store: a Succeeded pod deleted by a user, by the garbage collector or with its node
made its completion count as never run, and the Job ran it again. So every pod a Job
creates carries the finalizer `batch.kubernetes.io/job-tracking`, and cannot leave before
the controller has counted it. A pod that finished, or was deleted before it finished
(a failure, as in Kubernetes), is counted in three steps, each safe to repeat after a
crash:

1. its uid joins `status.uncountedTerminatedPods` (written with the rest of the status);
2. its finalizer is removed (`release`);
3. its uid moves out of the uncounted lists into `status.succeeded` or `status.failed`
   (`settle`).

Until step 3 the Job's totals are its counted numbers plus its uncounted uids, so a pod is
counted exactly once whatever happens to it after step 2. Pods the controller deletes
itself (surplus, a suspended or finished Job's active pods) lose the finalizer first and
are never counted; a failure its podFailurePolicy ignores is released uncounted. When the
Job is being deleted, or is gone, its pods are released uncounted so that they can go.
The controller remembers whose finalizer it removed until its cache shows it gone (a full
CI run counted an Indexed Job's failure twice when a sync read the cache in between).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import structlog

from client import kinds
from client.errors import Conflict, NotFound
from client.verbs import Getter, Updater
from proto import core_pb2, workloads_pb2

__all__ = [
    "FINALIZER",
    "add_finalizer",
    "outcome",
    "release",
    "settle",
    "tracked",
]

log = structlog.get_logger("controllers.job_tracking")

FINALIZER = "batch.kubernetes.io/job-tracking"
RETRIES = 5
"""Attempts to remove a finalizer while the kubelet keeps updating the pod."""

SUCCEEDED, FAILED = "Succeeded", "Failed"


def tracked(pod: core_pb2.Pod) -> bool:
    """Whether the pod still waits to be counted (it carries the finalizer)."""
    return FINALIZER in pod.metadata.finalizers


def add_finalizer(pod: core_pb2.Pod) -> core_pb2.Pod:
    """A new pod of a Job, made to wait for its counting."""
    if FINALIZER not in pod.metadata.finalizers:
        pod.metadata.finalizers.append(FINALIZER)
    return pod


def outcome(pod: core_pb2.Pod) -> str:
    """ "Succeeded" or "Failed" for a finished pod (one deleted before it finished failed,
    as Kubernetes counts it), "" for one still running."""
    if pod.status.phase in (SUCCEEDED, FAILED):
        return str(pod.status.phase)
    return FAILED if pod.metadata.deletion_timestamp else ""


class PodUpdater(Getter, Updater, Protocol):
    """Read a pod and replace it (what removing a finalizer takes)."""


async def release(client: PodUpdater, pods: Iterable[core_pb2.Pod]) -> set[str]:
    """Remove the finalizer from `pods`; the uids of those now free of it (or gone)."""
    done: set[str] = set()
    for pod in pods:
        if await _release_one(client, pod):
            done.add(pod.metadata.uid)
    return done


async def _release_one(client: PodUpdater, pod: core_pb2.Pod) -> bool:
    current = pod
    for _ in range(RETRIES):
        if FINALIZER not in current.metadata.finalizers:
            return True
        fresh = core_pb2.Pod()
        fresh.CopyFrom(current)
        fresh.metadata.finalizers.remove(FINALIZER)
        try:
            await client.update(fresh)
            return True
        except NotFound:
            return True
        except Conflict:
            try:
                found = await client.get("pods", pod.metadata.namespace, pod.metadata.name)
            except NotFound:
                return True
            if not isinstance(found, core_pb2.Pod) or found.metadata.uid != pod.metadata.uid:
                return True
            current = found
    log.warning("tracking finalizer not removed yet", key=kinds.key(pod))
    return False


def settle(status: workloads_pb2.JobStatus, released: set[str], present: set[str]) -> bool:
    """Step 3: move the uncounted uids whose pods are released, or gone, into the counts;
    whether anything moved."""
    uncounted = status.uncounted_terminated_pods
    moved = False
    for kept, counter in ((uncounted.succeeded, "succeeded"), (uncounted.failed, "failed")):
        done = [uid for uid in kept if uid in released or uid not in present]
        if not done:
            continue
        setattr(status, counter, getattr(status, counter) + len(done))
        remaining = [uid for uid in kept if uid not in done]
        del kept[:]
        kept.extend(remaining)
        moved = True
    return moved

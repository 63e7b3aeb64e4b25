"""Preemption: which lower-priority pods to evict, on which one node, so a pending pod fits.

Pure logic over a snapshot, like `algorithm.py`. For each node that rejected the pod
with a resolvable status (Unschedulable, not UnschedulableAndUnresolvable), simulate
removing every lower-priority pod; if the pod then fits, add victims back one by one,
highest priority first, keeping out only those whose return makes the pod not fit.
Among the nodes where that works, kube-scheduler's order picks one, so as little as
possible of importance is disturbed: the lowest highest-priority victim, then the lowest
sum of priorities, then the fewest victims, then the latest-started highest-priority
victims (then the name, for a stable answer).

Every attempt that finds no node says why, per node, as kube-scheduler's DefaultPreemption
does: that becomes the `preemption: 0/3 nodes are available: ...` part of the pod's
FailedScheduling message (`Outcome.message`).

Not modelled: PodDisruptionBudgets, and reserving the freed room for the nominated pod
against other pending pods (the scheduler simply retries the preemptor first: it has the
higher priority in the queue).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from client.timestamps import try_parse
from master.scheduler.algorithm import Algorithm, fit_error_message
from master.scheduler.framework import (
    SUCCESS,
    Code,
    CycleState,
    NodeInfo,
    PodInfo,
    Snapshot,
    Status,
)

NAME = "DefaultPreemption"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NEVER = "not eligible due to preemptionPolicy=Never."
TERMINATING = "not eligible due to a terminating pod on the nominated node."
_NO_VICTIMS = Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (NO_VICTIMS,), NAME)
_NOT_HELPFUL = Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (NOT_HELPFUL,), NAME)
_PRIORITY_OFFSET = 2**31
"""Added to each victim's priority before summing (Kubernetes' MaxInt32 + 1), so that a
sum never prefers more victims of a negative priority to fewer of the same."""


@dataclass
class Candidate:
    """A node and the pods to evict from it."""

    node: str
    victims: list[PodInfo]

    def rank(self) -> tuple[int, int, int, float, str]:
        """Smaller is better: lowest top priority, lowest (offset) sum, fewest victims,
        latest start among the top-priority victims, then name."""
        prios = [v.priority for v in self.victims]
        top = max(prios, default=0)
        earliest = min((_started(v) for v in self.victims if v.priority == top), default=0.0)
        return (
            top,
            sum(p + _PRIORITY_OFFSET for p in prios),
            len(prios),
            -earliest,
            self.node,
        )


def _started(p: PodInfo) -> float:
    """When the pod started, in epoch seconds; one not started yet counts as starting
    now, the latest of all (Kubernetes' rule), so infinity."""
    moment = try_parse(p.pod.status.start_time)
    return math.inf if moment is None else moment.timestamp()


def _needs_fresh_prefilter(pod: PodInfo) -> bool:
    """Counts of pods matter to the pod's own filters only with these constraints."""
    spec = pod.pod.spec
    return bool(
        spec.topology_spread_constraints
        or spec.affinity.HasField("pod_affinity")
        or spec.affinity.HasField("pod_anti_affinity")
    )


def _fits(algo: Algorithm, pod: PodInfo, trial: NodeInfo, snapshot: Snapshot) -> Status:
    """Success when the pod passes every PreFilter and Filter on `trial`, else the first
    rejection."""
    state = CycleState()
    view = snapshot
    if _needs_fresh_prefilter(pod):
        row = snapshot.table.rows[trial.name]
        nodes = list(snapshot.nodes)
        nodes[row] = trial
        view = Snapshot(
            nodes,
            snapshot.namespace_labels,
            snapshot.volumes,
            snapshot.table.with_row(row, trial),
        )
    st = algo.run_pre_filters(state, pod, view)
    if not st.ok:
        return st
    return algo.run_filters(state, pod, trial)


def _has_lower(node: NodeInfo, priority: int) -> bool:
    """Some live pod on the node has a lower priority. A plain loop: in a full cluster this
    runs for every pod of every node on each failed attempt, and allocates nothing."""
    for p in node.pods.values():
        if p.priority < priority and not p.pod.metadata.deletion_timestamp:
            return True
    return False


def victims_on_node(
    algo: Algorithm, pod: PodInfo, node: NodeInfo, snapshot: Snapshot
) -> Candidate | Status:
    """The fewest lower-priority pods whose eviction lets the pod fit, or why there are
    none: no lower-priority pod, or the node's rejection with all of them gone."""
    if not _has_lower(node, pod.priority):
        return _NO_VICTIMS
    lower = [
        p
        for p in node.pods.values()
        if p.priority < pod.priority and not p.pod.metadata.deletion_timestamp
    ]
    trial = node.clone()
    for p in list(trial.pods.values()):
        # Pods already terminating will be gone anyway: never count them as victims.
        if p.pod.metadata.deletion_timestamp or p.priority < pod.priority:
            trial.remove_pod(p.key)
    st = _fits(algo, pod, trial, snapshot)
    if not st.ok:
        return st
    victims = []
    for p in sorted(lower, key=lambda v: (-v.priority, v.pod.metadata.creation_timestamp)):
        trial.add_pod(p)
        if not _fits(algo, pod, trial, snapshot).ok:
            trial.remove_pod(p.key)
            victims.append(p)
    if not victims:
        # It fits once the terminating pods are gone: nothing to evict for it.
        return _NO_VICTIMS
    return Candidate(node.name, victims)


@dataclass
class Outcome:
    """What one preemption attempt found."""

    candidate: Candidate | None
    """The node to preempt on and its victims, or None."""
    message: str
    """Why there is none, as Kubernetes words it (`preemption: ...`); empty with a candidate."""


def preempt(
    algo: Algorithm,
    pod: PodInfo,
    snapshot: Snapshot,
    statuses: Mapping[str, Status],
    *,
    terminating_victims: bool = False,
) -> Outcome:
    """The best node to preempt on for a pod no node fits (`statuses`: each node's
    rejection), or the reason there is none.

    `terminating_victims`: the pod preempted before and lower-priority pods on its
    nominated node are still going; it waits for them rather than evicting more.
    """
    if pod.pod.spec.preemption_policy == "Never":
        return Outcome(None, f"preemption: {NEVER}")
    if terminating_victims:
        return Outcome(None, f"preemption: {TERMINATING}")
    best: Candidate | None = None
    why: dict[str, Status] = {}
    for node in snapshot.nodes:
        st = statuses.get(node.name, SUCCESS)
        if st.code is not Code.UNSCHEDULABLE:
            # Evicting pods cannot lift a taint, an affinity or a cordon.
            why[node.name] = _NOT_HELPFUL
            continue
        found = victims_on_node(algo, pod, node, snapshot)
        if isinstance(found, Status):
            why[node.name] = found
        elif best is None or found.rank() < best.rank():
            best = found
    if best is not None:
        return Outcome(best, "")
    return Outcome(None, f"preemption: {fit_error_message(len(snapshot.nodes), why.values())}")

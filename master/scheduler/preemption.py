"""Preemption: which lower-priority pods to evict, on which one node, so a pending pod fits.

Pure logic over a snapshot, like `algorithm.py`. For each node that rejected the pod
with a resolvable status (Unschedulable, not UnschedulableAndUnresolvable), simulate
removing every lower-priority pod; if the pod then fits, add victims back one by one,
highest priority first, keeping out only those whose return makes the pod not fit.
The node needing the fewest victims wins (then the lowest top victim priority, then the
lowest priority sum), so as little as possible is disturbed.

Not modelled: PodDisruptionBudgets, and reserving the freed room for the nominated pod
against other pending pods (the scheduler simply retries the preemptor first: it has the
higher priority in the queue).
"""

from __future__ import annotations

from dataclasses import dataclass

from master.scheduler.algorithm import Algorithm
from master.scheduler.framework import Code, CycleState, NodeInfo, PodInfo, Snapshot, Status


@dataclass
class Candidate:
    """A node and the pods to evict from it."""

    node: str
    victims: list[PodInfo]

    def rank(self) -> tuple[int, int, int, str]:
        """Smaller is better: fewest victims, lowest top priority, lowest sum, then name."""
        prios = [v.priority for v in self.victims]
        return (len(prios), max(prios, default=0), sum(prios), self.node)


def _needs_fresh_prefilter(pod: PodInfo) -> bool:
    """Counts of pods matter to the pod's own filters only with these constraints."""
    spec = pod.pod.spec
    return bool(
        spec.topology_spread_constraints
        or spec.affinity.HasField("pod_affinity")
        or spec.affinity.HasField("pod_anti_affinity")
    )


def _fits(algo: Algorithm, pod: PodInfo, trial: NodeInfo, snapshot: Snapshot) -> bool:
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
    if not algo.run_pre_filters(state, pod, view).ok:
        return False
    return algo.run_filters(state, pod, trial).ok


def victims_on_node(
    algo: Algorithm, pod: PodInfo, node: NodeInfo, snapshot: Snapshot
) -> Candidate | None:
    """The fewest lower-priority pods whose eviction lets the pod fit, or None."""
    lower = [
        p
        for p in node.pods.values()
        if p.priority < pod.priority and not p.pod.metadata.deletion_timestamp
    ]
    if not lower:
        return None
    trial = node.clone()
    for p in list(trial.pods.values()):
        # Pods already terminating will be gone anyway: never count them as victims.
        if p.pod.metadata.deletion_timestamp or p.priority < pod.priority:
            trial.remove_pod(p.key)
    if not _fits(algo, pod, trial, snapshot):
        return None
    victims = []
    for p in sorted(lower, key=lambda v: (-v.priority, v.pod.metadata.creation_timestamp)):
        trial.add_pod(p)
        if not _fits(algo, pod, trial, snapshot):
            trial.remove_pod(p.key)
            victims.append(p)
    return Candidate(node.name, victims)


def find_candidate(
    algo: Algorithm, pod: PodInfo, snapshot: Snapshot, statuses: dict[str, Status]
) -> Candidate | None:
    """The best node to preempt on, or None when preemption cannot help."""
    if pod.pod.spec.preemption_policy == "Never":
        return None
    best: Candidate | None = None
    for node in snapshot.nodes:
        st = statuses.get(node.name)
        if st is None or st.code is not Code.UNSCHEDULABLE:
            continue
        c = victims_on_node(algo, pod, node, snapshot)
        if c is not None and c.victims and (best is None or c.rank() < best.rank()):
            best = c
    return best

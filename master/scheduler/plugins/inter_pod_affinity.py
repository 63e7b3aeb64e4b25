"""InterPodAffinity: required and preferred pod affinity and anti-affinity by topologyKey.

Counts are taken once per pod in PreFilter over every pod in the snapshot, keyed by
(topologyKey, value), so each Filter call is a few dictionary look-ups. A pod without
terms of its own walks only the nodes holding pods with terms (the snapshot's
`have_pods_with_*` lists, as Kubernetes keeps them), so in the usual cluster where no
pod has any, PreFilter and PreScore say Skip without looking at a single node.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from master.scheduler import framework
from master.scheduler.matching import affinity_term_matches_pod
from proto import core_pb2

NAME = "InterPodAffinity"
AFFINITY_REASON = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_REASON = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY_REASON = "node(s) didn't satisfy existing pods anti-affinity rules"
HARD_POD_AFFINITY_WEIGHT = 1
"""What an existing pod's required affinity toward the incoming pod adds to a score."""

Pair = tuple[str, str]


@dataclass
class _FilterState:
    affinity: Counter[Pair] = field(default_factory=Counter)
    anti_affinity: Counter[Pair] = field(default_factory=Counter)
    existing_anti_affinity: Counter[Pair] = field(default_factory=Counter)


def _required_affinity(pod: core_pb2.Pod) -> list[core_pb2.PodAffinityTerm]:
    return list(pod.spec.affinity.pod_affinity.required_during_scheduling_ignored_during_execution)


def _required_anti(pod: core_pb2.Pod) -> list[core_pb2.PodAffinityTerm]:
    return list(
        pod.spec.affinity.pod_anti_affinity.required_during_scheduling_ignored_during_execution
    )


def _others(
    pod: framework.PodInfo,
    nodes: Iterable[framework.NodeInfo],
    pods_of: Callable[[framework.NodeInfo], Mapping[str, framework.PodInfo]],
) -> Iterator[tuple[Mapping[str, str], core_pb2.Pod]]:
    """Every pod but `pod` among those `pods_of` picks on each node, with the labels of its
    node. Terminating pods count, as in Kubernetes: until one is gone it still runs there,
    so a one-per-node anti-affinity waits for it rather than doubling up beside it."""
    for node in nodes:
        for other in pods_of(node).values():
            if other.key != pod.key:
                yield node.labels, other.pod


@framework.register(NAME)
class InterPodAffinity:
    """Filter on required terms (both directions); score on preferred ones."""

    name = NAME
    weight = 2

    def pre_filter(
        self, state: framework.CycleState, pod: framework.PodInfo, snapshot: framework.Snapshot
    ) -> framework.Status:
        """Count, per topology pair, the pods each kind of term sees."""
        ns_labels = snapshot.namespace_labels
        me = pod.pod
        affinity, anti = _required_affinity(me), _required_anti(me)
        s = _FilterState()
        own_terms = bool(affinity or anti)

        def candidates(node: framework.NodeInfo) -> Mapping[str, framework.PodInfo]:
            # Without terms of its own only existing pods' anti-affinity can reject it.
            return node.pods if own_terms else node.required_anti_affinity_pods

        nodes = snapshot.nodes if own_terms else snapshot.have_pods_with_required_anti_affinity()
        for labels, o in _others(pod, nodes, candidates):
            if affinity and all(
                affinity_term_matches_pod(t, me.metadata.namespace, o, ns_labels) for t in affinity
            ):
                for t in affinity:
                    if t.topology_key in labels:
                        s.affinity[(t.topology_key, labels[t.topology_key])] += 1
            for t in anti:
                if t.topology_key in labels and affinity_term_matches_pod(
                    t, me.metadata.namespace, o, ns_labels
                ):
                    s.anti_affinity[(t.topology_key, labels[t.topology_key])] += 1
            for t in _required_anti(o):
                if t.topology_key in labels and affinity_term_matches_pod(
                    t, o.metadata.namespace, me, ns_labels
                ):
                    s.existing_anti_affinity[(t.topology_key, labels[t.topology_key])] += 1
        if not own_terms and not s.existing_anti_affinity:
            return framework.Status.skip(NAME)
        state[NAME] = s
        state[NAME + "/self_match"] = bool(affinity) and all(
            affinity_term_matches_pod(t, me.metadata.namespace, me, ns_labels) for t in affinity
        )
        return framework.SUCCESS

    def filter(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status:
        """The pod's affinity, then its anti-affinity, then existing pods' anti-affinity
        (Kubernetes' order: a node failing the first is unresolvable whatever else fails,
        so it is never a preemption candidate)."""
        s: _FilterState = state[NAME]
        labels = node.labels
        affinity = _required_affinity(pod.pod)
        if affinity and not self._affinity_satisfied(state, s, affinity, labels):
            return framework.Status.unresolvable(NAME, AFFINITY_REASON)
        for t in _required_anti(pod.pod):
            key = t.topology_key
            if key in labels and s.anti_affinity.get((key, labels[key]), 0) > 0:
                return framework.Status.unschedulable(NAME, ANTI_AFFINITY_REASON)
        for key, value in labels.items():
            if s.existing_anti_affinity.get((key, value), 0) > 0:
                return framework.Status.unschedulable(NAME, EXISTING_ANTI_AFFINITY_REASON)
        return framework.SUCCESS

    @staticmethod
    def _affinity_satisfied(
        state: framework.CycleState,
        s: _FilterState,
        affinity: list[core_pb2.PodAffinityTerm],
        labels: Mapping[str, str],
    ) -> bool:
        if all(
            t.topology_key in labels and s.affinity.get((t.topology_key, labels[t.topology_key]), 0)
            for t in affinity
        ):
            return True
        # The first pod of a group that selects itself may go anywhere with the keys.
        return (
            not s.affinity
            and bool(state[NAME + "/self_match"])
            and all(t.topology_key in labels for t in affinity)
        )

    def pre_score(
        self,
        state: framework.CycleState,
        pod: framework.PodInfo,
        nodes: Sequence[framework.NodeInfo],
        snapshot: framework.Snapshot,
    ) -> framework.Status:
        """Sum weights per topology pair from both the pod's and the existing pods' terms."""
        me = pod.pod
        ns_labels: Mapping[str, Mapping[str, str]] = snapshot.namespace_labels
        pref_aff = (
            me.spec.affinity.pod_affinity.preferred_during_scheduling_ignored_during_execution
        )
        pref_anti = (
            me.spec.affinity.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution
        )
        scores: Counter[Pair] = Counter()

        def add(term: core_pb2.PodAffinityTerm, labels: Mapping[str, str], w: int) -> None:
            if term.topology_key in labels:
                scores[(term.topology_key, labels[term.topology_key])] += w

        own_terms = bool(pref_aff or pref_anti)

        def candidates(node: framework.NodeInfo) -> Mapping[str, framework.PodInfo]:
            # Without preferences of its own only existing pods' terms can score.
            return node.pods if own_terms else node.affinity_pods

        nodes_with_pods = snapshot.nodes if own_terms else snapshot.have_pods_with_affinity()
        for labels, o in _others(pod, nodes_with_pods, candidates):
            ons = o.metadata.namespace
            for w in pref_aff:
                t = w.pod_affinity_term
                if affinity_term_matches_pod(t, me.metadata.namespace, o, ns_labels):
                    add(t, labels, w.weight)
            for w in pref_anti:
                t = w.pod_affinity_term
                if affinity_term_matches_pod(t, me.metadata.namespace, o, ns_labels):
                    add(t, labels, -w.weight)
            oa = o.spec.affinity
            for t in oa.pod_affinity.required_during_scheduling_ignored_during_execution:
                if affinity_term_matches_pod(t, ons, me, ns_labels):
                    add(t, labels, HARD_POD_AFFINITY_WEIGHT)
            for w in oa.pod_affinity.preferred_during_scheduling_ignored_during_execution:
                if affinity_term_matches_pod(w.pod_affinity_term, ons, me, ns_labels):
                    add(w.pod_affinity_term, labels, w.weight)
            for w in oa.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution:
                if affinity_term_matches_pod(w.pod_affinity_term, ons, me, ns_labels):
                    add(w.pod_affinity_term, labels, -w.weight)
        if not any(scores.values()):
            return framework.Status.skip(NAME)
        state[NAME + "/scores"] = scores
        return framework.SUCCESS

    def score(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> int:
        """The summed weights of every topology pair the node is in."""
        scores: Counter[Pair] = state.get(NAME + "/scores", Counter())
        return sum(scores.get((k, v), 0) for k, v in node.labels.items())

    def normalize(
        self, state: framework.CycleState, pod: framework.PodInfo, scores: dict[str, int]
    ) -> None:
        """Min-max scaling to 0..100; all equal means all 0. In floating point, truncated,
        as Kubernetes computes it (29 of 100 comes out 28, not 29)."""
        if not scores:
            return
        lo, hi = min(scores.values()), max(scores.values())
        for k, v in scores.items():
            scores[k] = int(framework.MAX_NODE_SCORE * ((v - lo) / (hi - lo))) if hi > lo else 0

"""PodTopologySpread: keep matching pods spread across topology domains within maxSkew.

Only nodes that pass the pod's nodeSelector/required node affinity and carry every
constraint's topology key count as domains (Kubernetes' default nodeAffinityPolicy Honor;
taints do not matter, its default nodeTaintsPolicy Ignore). A constraint whose
labelSelector is missing or empty counts no pods, as in Kubernetes.

Scoring is Kubernetes' too: each ScheduleAnyway constraint adds, per feasible node, the
matching pods of the node's domain times log(domains + 2) plus maxSkew - 1, where the
domains are those of the feasible nodes (for kubernetes.io/hostname, the feasible nodes
themselves); the sum is rounded to an integer before the scores are normalized, so
near-equal domains score alike.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from client.selectors import LabelSelector, from_proto
from master.scheduler import framework
from master.scheduler.matching import pod_matches_node_selector_and_affinity
from proto import core_pb2

NAME = "PodTopologySpread"
REASON = "node(s) didn't match pod topology spread constraints"
MISSING_LABEL_REASON = (
    "node(s) didn't match pod topology spread constraints (missing required label)"
)
HOSTNAME = "kubernetes.io/hostname"


@dataclass
class _Counts:
    constraint: core_pb2.TopologySpreadConstraint
    per_domain: Counter[str]
    self_match: int


@dataclass
class _Scoring:
    """PreScore's figures for the ScheduleAnyway constraints."""

    constraints: list[core_pb2.TopologySpreadConstraint]
    selectors: list[LabelSelector | None]
    weights: list[float]
    per_domain: list[Counter[str]]
    """Matching pods per domain value, for each constraint but a hostname one."""
    ignored: set[str] = field(default_factory=set)
    """Feasible nodes without every constraint's key: scored 0."""


def _constraints(pod: core_pb2.Pod, mode: str) -> list[core_pb2.TopologySpreadConstraint]:
    return [
        c
        for c in pod.spec.topology_spread_constraints
        if (c.when_unsatisfiable or "DoNotSchedule") == mode
    ]


def _selector(c: core_pb2.TopologySpreadConstraint) -> LabelSelector | None:
    """The constraint's selector, or None when it has no terms: such a constraint counts
    no pods (Kubernetes' countPodsMatchSelector)."""
    sel = c.label_selector
    if not sel.match_labels and not sel.match_expressions:
        return None
    return from_proto(sel)


def _self_match(c: core_pb2.TopologySpreadConstraint, pod: core_pb2.Pod) -> int:
    """1 when the incoming pod counts toward its own constraint: an empty (but present)
    selector selects it, a missing one does not."""
    if not c.HasField("label_selector"):
        return 0
    selector = _selector(c)
    return 1 if selector is None or selector.matches(pod.metadata.labels) else 0


def _matching(
    pod: framework.PodInfo, selector: LabelSelector | None, node: framework.NodeInfo
) -> int:
    """Live pods on the node in the pod's namespace that the selector picks."""
    if selector is None:
        return 0
    namespace = pod.pod.metadata.namespace
    return sum(
        1
        for p in node.pods.values()
        if p.pod.metadata.namespace == namespace
        and not p.pod.metadata.deletion_timestamp
        and p.key != pod.key
        and selector.matches(p.pod.metadata.labels)
    )


def _count(
    pod: framework.PodInfo,
    constraints: list[core_pb2.TopologySpreadConstraint],
    nodes: list[framework.NodeInfo],
) -> list[_Counts]:
    keys = [c.topology_key for c in constraints]
    out = []
    for c in constraints:
        selector = _selector(c)
        counts: Counter[str] = Counter()
        for node in nodes:
            labels = node.labels
            if not all(k in labels for k in keys):
                continue
            if not pod_matches_node_selector_and_affinity(pod.pod, node.node):
                continue
            counts[labels[c.topology_key]] += _matching(pod, selector, node)
        out.append(_Counts(c, counts, _self_match(c, pod.pod)))
    return out


@framework.register(NAME)
class PodTopologySpread:
    """DoNotSchedule constraints filter; ScheduleAnyway constraints score."""

    name = NAME
    weight = 2

    def pre_filter(
        self, state: framework.CycleState, pod: framework.PodInfo, snapshot: framework.Snapshot
    ) -> framework.Status:
        """Count matching pods per domain for each hard constraint."""
        hard = _constraints(pod.pod, "DoNotSchedule")
        if not hard:
            return framework.Status.skip(NAME)
        state[NAME] = _count(pod, hard, snapshot.nodes)
        return framework.SUCCESS

    def filter(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status:
        """Skew = matching pods in the node's domain (+1 for the pod) - the global minimum."""
        counts: list[_Counts] = state.get(NAME, [])
        for cc in counts:
            c = cc.constraint
            value = node.labels.get(c.topology_key)
            if value is None:
                return framework.Status.unresolvable(NAME, MISSING_LABEL_REASON)
            domains = cc.per_domain
            min_match = min(domains.values(), default=0)
            if c.HasField("min_domains") and len(domains) < c.min_domains:
                min_match = 0
            skew = domains.get(value, 0) + cc.self_match - min_match
            if skew > c.max_skew:
                return framework.Status.unschedulable(NAME, REASON)
        return framework.SUCCESS

    def pre_score(
        self,
        state: framework.CycleState,
        pod: framework.PodInfo,
        nodes: Sequence[framework.NodeInfo],
        snapshot: framework.Snapshot,
    ) -> framework.Status:
        """Weigh each soft constraint by the feasible nodes' domains, and count matching
        pods per domain over every eligible node."""
        soft = _constraints(pod.pod, "ScheduleAnyway")
        if not soft:
            return framework.Status.skip(NAME)
        keys = [c.topology_key for c in soft]
        scoring = _Scoring(soft, [_selector(c) for c in soft], [], [Counter() for _ in soft])
        scored = 0
        for node in nodes:
            labels = node.labels
            if not all(k in labels for k in keys):
                scoring.ignored.add(node.name)
                continue
            scored += 1
            for c, domains in zip(soft, scoring.per_domain, strict=True):
                if c.topology_key != HOSTNAME:
                    # Listed with 0: only the feasible nodes' domains are counted below.
                    domains.setdefault(labels[c.topology_key], 0)
        for c, domains in zip(soft, scoring.per_domain, strict=True):
            size = scored if c.topology_key == HOSTNAME else len(domains)
            scoring.weights.append(math.log(size + 2))
        if any(domains for domains in scoring.per_domain):
            for node in snapshot.nodes:
                labels = node.labels
                if not all(k in labels for k in keys):
                    continue
                if not pod_matches_node_selector_and_affinity(pod.pod, node.node):
                    continue
                for c, selector, domains in zip(
                    soft, scoring.selectors, scoring.per_domain, strict=True
                ):
                    value = labels[c.topology_key]
                    if c.topology_key != HOSTNAME and value in domains:
                        domains[value] += _matching(pod, selector, node)
        state[NAME + "/soft"] = scoring
        return framework.SUCCESS

    def score(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> int:
        """Matching pods in the node's domains, each constraint's count times its weight
        plus maxSkew - 1, summed and rounded (lower is better)."""
        scoring: _Scoring = state[NAME + "/soft"]
        if node.name in scoring.ignored:
            return 0
        total = 0.0
        for i, c in enumerate(scoring.constraints):
            if c.topology_key == HOSTNAME:
                count = _matching(pod, scoring.selectors[i], node)
            else:
                count = scoring.per_domain[i][node.labels[c.topology_key]]
            total += count * scoring.weights[i] + (c.max_skew - 1)
        # Halves round up, as Kubernetes rounds them (Python's round() would go to even).
        return math.floor(total + 0.5)

    def normalize(
        self, state: framework.CycleState, pod: framework.PodInfo, scores: dict[str, int]
    ) -> None:
        """Kubernetes' rule: 100 * (max + min - s) / max; nodes without the keys get 0."""
        scoring: _Scoring = state[NAME + "/soft"]
        valid = [v for k, v in scores.items() if k not in scoring.ignored]
        if not valid:
            for k in scores:
                scores[k] = 0
            return
        lo, hi = min(valid), max(valid)
        for k, v in scores.items():
            if k in scoring.ignored:
                scores[k] = 0
            elif hi == 0:
                scores[k] = framework.MAX_NODE_SCORE
            else:
                scores[k] = framework.MAX_NODE_SCORE * (hi + lo - v) // hi

"""PodTopologySpread: keep matching pods spread across topology domains within maxSkew.

Only nodes that pass the pod's nodeSelector/required node affinity and carry every
constraint's topology key count as domains (Kubernetes' default nodeAffinityPolicy Honor).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from client.selectors import from_proto
from master.scheduler import framework
from master.scheduler.matching import pod_matches_node_selector_and_affinity
from proto import core_pb2

NAME = "PodTopologySpread"
REASON = "node(s) didn't match pod topology spread constraints"
MISSING_LABEL_REASON = (
    "node(s) didn't match pod topology spread constraints (missing required label)"
)
_IGNORED = -1


@dataclass
class _Counts:
    constraint: core_pb2.TopologySpreadConstraint
    per_domain: Counter[str]
    self_match: int


def _constraints(pod: core_pb2.Pod, mode: str) -> list[core_pb2.TopologySpreadConstraint]:
    return [
        c
        for c in pod.spec.topology_spread_constraints
        if (c.when_unsatisfiable or "DoNotSchedule") == mode
    ]


def _count(
    pod: framework.PodInfo,
    constraints: list[core_pb2.TopologySpreadConstraint],
    nodes: list[framework.NodeInfo],
) -> list[_Counts]:
    keys = [c.topology_key for c in constraints]
    out = []
    for c in constraints:
        selector = from_proto(c.label_selector)
        counts: Counter[str] = Counter()
        for node in nodes:
            labels = node.labels
            if not all(k in labels for k in keys):
                continue
            if not pod_matches_node_selector_and_affinity(pod.pod, node.node):
                continue
            value = labels[c.topology_key]
            counts[value] += sum(
                1
                for p in node.pods.values()
                if p.pod.metadata.namespace == pod.pod.metadata.namespace
                and not p.pod.metadata.deletion_timestamp
                and p.key != pod.key
                and selector.matches(p.pod.metadata.labels)
            )
        self_match = 1 if selector.matches(pod.pod.metadata.labels) else 0
        out.append(_Counts(c, counts, self_match))
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
        """Count matching pods per domain for each soft constraint over all eligible nodes."""
        soft = _constraints(pod.pod, "ScheduleAnyway")
        if not soft:
            return framework.Status.skip(NAME)
        state[NAME + "/soft"] = _count(pod, soft, snapshot.nodes)
        return framework.SUCCESS

    def score(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> int:
        """Weighted matching-pod count of the node's domains (lower is better), x100."""
        counts: list[_Counts] = state.get(NAME + "/soft", [])
        if not counts:
            return 0
        total = 0.0
        for cc in counts:
            value = node.labels.get(cc.constraint.topology_key)
            if value is None:
                return _IGNORED
            weight = math.log(len(cc.per_domain) + 2)
            total += cc.per_domain.get(value, 0) * weight + (cc.constraint.max_skew - 1)
        return int(total * 100)

    def normalize(
        self, state: framework.CycleState, pod: framework.PodInfo, scores: dict[str, int]
    ) -> None:
        """Kubernetes' rule: 100 * (max + min - s) / max; nodes without the keys get 0."""
        if not state.get(NAME + "/soft"):
            for k in scores:
                scores[k] = 0
            return
        valid = [v for v in scores.values() if v != _IGNORED]
        if not valid:
            return
        lo, hi = min(valid), max(valid)
        for k, v in scores.items():
            if v == _IGNORED:
                scores[k] = 0
            elif hi == 0:
                scores[k] = framework.MAX_NODE_SCORE
            else:
                scores[k] = framework.MAX_NODE_SCORE * (hi + lo - v) // hi

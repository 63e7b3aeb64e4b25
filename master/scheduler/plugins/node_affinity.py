"""NodeAffinity: spec.nodeSelector and required node affinity filter; preferred terms score."""

from __future__ import annotations

from collections.abc import Sequence

from master.scheduler import framework
from master.scheduler.matching import pod_matches_node_selector_and_affinity, term_matches

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"


@framework.register(NAME)
class NodeAffinity(framework.FilterWhen, framework.ScoreWhen):
    """Filter on nodeSelector + required terms; score by the weights of matching preferred terms."""

    name = NAME
    weight = 2

    @staticmethod
    def filter_applies(pod: framework.PodInfo, snapshot: framework.Snapshot) -> bool:
        """Only for a pod with a nodeSelector or required terms."""
        spec = pod.pod.spec
        return bool(spec.node_selector) or spec.affinity.node_affinity.HasField(
            "required_during_scheduling_ignored_during_execution"
        )

    def filter(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status:
        """Unresolvable: evictions do not change a node's labels."""
        if pod_matches_node_selector_and_affinity(pod.pod, node.node):
            return framework.SUCCESS
        return framework.Status.unresolvable(NAME, REASON)

    @staticmethod
    def score_applies(
        pod: framework.PodInfo, nodes: Sequence[framework.NodeInfo], snapshot: framework.Snapshot
    ) -> bool:
        """Only for a pod with preferred terms."""
        affinity = pod.pod.spec.affinity.node_affinity
        return bool(affinity.preferred_during_scheduling_ignored_during_execution)

    def score(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> int:
        """Sum of the weights of the preferred terms the node matches."""
        preferred = (
            pod.pod.spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
        )
        return sum(p.weight for p in preferred if term_matches(p.preference, node.node))

    def normalize(
        self, state: framework.CycleState, pod: framework.PodInfo, scores: dict[str, int]
    ) -> None:
        """The best-matching node gets the top score."""
        framework.default_normalize(scores)

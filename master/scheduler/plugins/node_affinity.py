"""NodeAffinity: spec.nodeSelector and required node affinity filter; preferred terms score."""

from __future__ import annotations

from collections.abc import Sequence

from master.scheduler.framework import (
    SUCCESS,
    CycleState,
    NodeInfo,
    PodInfo,
    Snapshot,
    Status,
    default_normalize,
    register,
)
from master.scheduler.matching import pod_matches_node_selector_and_affinity, term_matches

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"


@register(NAME)
class NodeAffinity:
    """Filter on nodeSelector + required terms; score by the weights of matching preferred terms."""

    name = NAME
    weight = 2

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status:
        """Skip the Filter when the pod has neither nodeSelector nor required terms."""
        spec = pod.pod.spec
        if spec.node_selector or spec.affinity.node_affinity.HasField(
            "required_during_scheduling_ignored_during_execution"
        ):
            return SUCCESS
        return Status.skip(NAME)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unresolvable: evictions do not change a node's labels."""
        if pod_matches_node_selector_and_affinity(pod.pod, node.node):
            return SUCCESS
        return Status.unresolvable(NAME, REASON)

    def pre_score(
        self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo], snapshot: Snapshot
    ) -> Status:
        """Skip the Score when the pod has no preferred terms."""
        affinity = pod.pod.spec.affinity.node_affinity
        if affinity.preferred_during_scheduling_ignored_during_execution:
            return SUCCESS
        return Status.skip(NAME)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        """Sum of the weights of the preferred terms the node matches."""
        preferred = (
            pod.pod.spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
        )
        return sum(p.weight for p in preferred if term_matches(p.preference, node.node))

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        """The best-matching node gets the top score."""
        default_normalize(scores)

"""TaintToleration: NoSchedule/NoExecute taints filter, PreferNoSchedule taints score.

Most clusters taint few nodes, so PreFilter skips the Filter when no node has a hard
taint and PreScore skips the Score when no feasible node has a soft one (every node
would then score the same, which changes no choice). The batch Filter decides the
untainted nodes as a column and looks at the tainted ones node by node.
"""

from __future__ import annotations

from collections.abc import Sequence

from master.scheduler.framework import (
    HARD_TAINT_EFFECTS,
    SUCCESS,
    CycleState,
    NodeInfo,
    PodInfo,
    Snapshot,
    Status,
    default_normalize,
    register,
)
from master.scheduler.matching import tolerated
from master.scheduler.nodetable import BoolArray

NAME = "TaintToleration"
FILTER_EFFECTS = HARD_TAINT_EFFECTS


def untolerated_reason(key: str, value: str) -> str:
    """Kubernetes' wording, e.g. `node(s) had untolerated taint {dedicated: gpu}`."""
    return f"node(s) had untolerated taint {{{key}: {value}}}"


@register(NAME)
class TaintToleration:
    """Rejects nodes with an untolerated hard taint; prefers nodes with fewer soft ones."""

    name = NAME
    weight = 3

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status:
        """Skip when no node has a NoSchedule or NoExecute taint."""
        return SUCCESS if snapshot.table.any("hard_taints") else Status.skip(NAME)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unresolvable: evicting pods does not remove a taint."""
        for taint in node.hard_taints:
            if not tolerated(taint, pod.pod.spec.tolerations):
                return Status.unresolvable(NAME, untolerated_reason(taint.key, taint.value))
        return SUCCESS

    def filter_batch(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> BoolArray:
        """Untainted nodes pass; a tainted one passes only if the pod tolerates it all."""
        tainted = snapshot.table.hard_taints
        mask = ~tainted
        if pod.pod.spec.tolerations:
            nodes = snapshot.nodes
            for row in tainted.nonzero()[0].tolist():
                mask[row] = self.filter(state, pod, nodes[row]).ok
        return mask

    def pre_score(
        self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo], snapshot: Snapshot
    ) -> Status:
        """Skip when no feasible node has a PreferNoSchedule taint."""
        if snapshot.table.any("soft_taints") and any(n.soft_taints for n in nodes):
            return SUCCESS
        return Status.skip(NAME)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        """The count of PreferNoSchedule taints the pod does not tolerate (lower is better)."""
        soft = [t for t in pod.pod.spec.tolerations if t.effect in ("", "PreferNoSchedule")]
        return sum(1 for taint in node.soft_taints if not tolerated(taint, soft))

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        """Fewest intolerable soft taints gets the top score."""
        default_normalize(scores, reverse=True)

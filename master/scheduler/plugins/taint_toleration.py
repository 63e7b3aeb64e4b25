"""TaintToleration: NoSchedule/NoExecute taints filter, PreferNoSchedule taints score.

Most clusters taint few nodes, so PreFilter skips the Filter when no node has a hard
taint and PreScore skips the Score when no feasible node has a soft one (every node
would then score the same, which changes no choice). The batch Filter decides the
untainted nodes as a column and looks at the tainted ones node by node.
"""

from __future__ import annotations

from collections.abc import Sequence

from master.scheduler import framework
from master.scheduler.matching import tolerated
from master.scheduler.nodetable import BoolArray

NAME = "TaintToleration"
FILTER_EFFECTS = framework.HARD_TAINT_EFFECTS


def untolerated_reason(key: str, value: str) -> str:
    """Kubernetes' wording, e.g. `node(s) had untolerated taint {dedicated: gpu}`."""
    return f"node(s) had untolerated taint {{{key}: {value}}}"


@framework.register(NAME)
class TaintToleration(framework.FilterWhen, framework.ScoreWhen):
    """Rejects nodes with an untolerated hard taint; prefers nodes with fewer soft ones."""

    name = NAME
    weight = 3

    @staticmethod
    def filter_applies(pod: framework.PodInfo, snapshot: framework.Snapshot) -> bool:
        """Only when some node has a NoSchedule or NoExecute taint."""
        return snapshot.table.any("hard_taints")

    def filter(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status:
        """Unresolvable: evicting pods does not remove a taint."""
        for taint in node.hard_taints:
            if not tolerated(taint, pod.pod.spec.tolerations):
                return framework.Status.unresolvable(
                    NAME, untolerated_reason(taint.key, taint.value)
                )
        return framework.SUCCESS

    def filter_batch(
        self, state: framework.CycleState, pod: framework.PodInfo, snapshot: framework.Snapshot
    ) -> BoolArray:
        """Untainted nodes pass; a tainted one passes only if the pod tolerates it all."""
        tainted = snapshot.table.hard_taints
        if not pod.pod.spec.tolerations:
            return ~tainted
        return framework.filter_flagged(self, state, pod, snapshot, tainted)

    @staticmethod
    def score_applies(
        pod: framework.PodInfo, nodes: Sequence[framework.NodeInfo], snapshot: framework.Snapshot
    ) -> bool:
        """Only when some feasible node has a PreferNoSchedule taint."""
        return snapshot.table.any("soft_taints") and any(n.soft_taints for n in nodes)

    def score(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> int:
        """The count of PreferNoSchedule taints the pod does not tolerate (lower is better)."""
        soft = [t for t in pod.pod.spec.tolerations if t.effect in ("", "PreferNoSchedule")]
        return sum(1 for taint in node.soft_taints if not tolerated(taint, soft))

    def normalize(
        self, state: framework.CycleState, pod: framework.PodInfo, scores: dict[str, int]
    ) -> None:
        """Fewest intolerable soft taints gets the top score."""
        framework.default_normalize(scores, reverse=True)

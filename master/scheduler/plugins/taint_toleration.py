"""TaintToleration: NoSchedule/NoExecute taints filter, PreferNoSchedule taints score."""

from __future__ import annotations

from master.scheduler.framework import (
    SUCCESS,
    CycleState,
    NodeInfo,
    PodInfo,
    Status,
    default_normalize,
    register,
)
from master.scheduler.matching import tolerated

NAME = "TaintToleration"
FILTER_EFFECTS = ("NoSchedule", "NoExecute")


def untolerated_reason(key: str, value: str) -> str:
    """Kubernetes' wording, e.g. `node(s) had untolerated taint {dedicated: gpu}`."""
    return f"node(s) had untolerated taint {{{key}: {value}}}"


@register(NAME)
class TaintToleration:
    """Rejects nodes with an untolerated hard taint; prefers nodes with fewer soft ones."""

    name = NAME
    weight = 3

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unresolvable: evicting pods does not remove a taint."""
        for taint in node.node.spec.taints:
            if taint.effect in FILTER_EFFECTS and not tolerated(taint, pod.pod.spec.tolerations):
                return Status.unresolvable(NAME, untolerated_reason(taint.key, taint.value))
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        """The count of PreferNoSchedule taints the pod does not tolerate (lower is better)."""
        soft = [t for t in pod.pod.spec.tolerations if t.effect in ("", "PreferNoSchedule")]
        return sum(
            1
            for taint in node.node.spec.taints
            if taint.effect == "PreferNoSchedule" and not tolerated(taint, soft)
        )

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        """Fewest intolerable soft taints gets the top score."""
        default_normalize(scores, reverse=True)

"""NodeResourcesFit: cpu, memory and pod count against allocatable minus what is requested.

Requests of bound and assumed pods both count (the NodeInfo holds both), so two pods
scheduled back to back never both take the last free core.
"""

from __future__ import annotations

from master.scheduler.framework import SUCCESS, CycleState, NodeInfo, PodInfo, Status, register

NAME = "NodeResourcesFit"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
TOO_MANY_PODS = "Too many pods"


def insufficient(pod: PodInfo, node: NodeInfo) -> list[str]:
    """Every resource the node lacks for the pod, in Kubernetes' words."""
    reasons = []
    if node.requested.pods + 1 > node.allocatable.pods:
        reasons.append(TOO_MANY_PODS)
    req = pod.requests
    if req.milli_cpu > 0 and node.requested.milli_cpu + req.milli_cpu > node.allocatable.milli_cpu:
        reasons.append(INSUFFICIENT_CPU)
    if req.memory > 0 and node.requested.memory + req.memory > node.allocatable.memory:
        reasons.append(INSUFFICIENT_MEMORY)
    return reasons


@register(NAME)
class NodeResourcesFit:
    """Rejects nodes without room for the pod's requests."""

    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Unschedulable (preemption may free room) with one reason per short resource."""
        reasons = insufficient(pod, node)
        return Status.unschedulable(NAME, *reasons) if reasons else SUCCESS

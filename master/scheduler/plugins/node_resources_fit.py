"""NodeResourcesFit: cpu, memory, pod count and scalar resources (extended resources such
as `nvidia.com/gpu`, hugepages) against allocatable minus what is requested.

Requests of bound and assumed pods both count (the NodeInfo holds both), so two pods
scheduled back to back never both take the last free core. The batch Filter is the same
comparison over the NodeTable's columns, for every node at once; the rare pod asking for
a scalar resource is then checked for it node by node among the nodes left.

ephemeral-storage is not checked, unlike in Kubernetes: Tugboat's kubelets do not report
it, so every node would seem to have none.
"""

from __future__ import annotations

from master.scheduler import framework
from master.scheduler.nodetable import BoolArray

NAME = "NodeResourcesFit"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
TOO_MANY_PODS = "Too many pods"


def insufficient(pod: framework.PodInfo, node: framework.NodeInfo) -> list[str]:
    """Every resource the node lacks for the pod, in Kubernetes' words."""
    reasons = []
    if node.requested.pods + 1 > node.allocatable.pods:
        reasons.append(TOO_MANY_PODS)
    req = pod.requests
    if req.milli_cpu > 0 and node.requested.milli_cpu + req.milli_cpu > node.allocatable.milli_cpu:
        reasons.append(INSUFFICIENT_CPU)
    if req.memory > 0 and node.requested.memory + req.memory > node.allocatable.memory:
        reasons.append(INSUFFICIENT_MEMORY)
    if pod.scalar_requests:
        reasons.extend(f"Insufficient {name}" for name in _short_scalars(pod, node))
    return reasons


def _short_scalars(pod: framework.PodInfo, node: framework.NodeInfo) -> list[str]:
    """The scalar resources the node has too little of left for the pod (a node that
    does not offer one has none of it)."""
    alloc, used = node.scalar_allocatable, node.scalar_requested
    return [
        name
        for name, want in pod.scalar_requests.items()
        if used.get(name, 0) + want > alloc.get(name, 0)
    ]


@framework.register(NAME)
class NodeResourcesFit:
    """Rejects nodes without room for the pod's requests."""

    name = NAME

    def filter(
        self, state: framework.CycleState, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status:
        """Unschedulable (preemption may free room) with one reason per short resource."""
        reasons = insufficient(pod, node)
        return framework.Status.unschedulable(NAME, *reasons) if reasons else framework.SUCCESS

    def filter_batch(
        self, state: framework.CycleState, pod: framework.PodInfo, snapshot: framework.Snapshot
    ) -> BoolArray:
        """`insufficient` is empty, for every node at once."""
        t = snapshot.table
        req = pod.requests
        ok: BoolArray = t.req_pods < t.alloc_pods
        if req.milli_cpu > 0:
            ok &= t.req_cpu + req.milli_cpu <= t.alloc_cpu
        if req.memory > 0:
            ok &= t.req_memory + req.memory <= t.alloc_memory
        if pod.scalar_requests:
            nodes = snapshot.nodes
            for row in ok.nonzero()[0].tolist():
                ok[row] = not _short_scalars(pod, nodes[row])
        return ok

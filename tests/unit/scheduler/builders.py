"""Nodes, pods and snapshots for scheduler tests, written as Kubernetes-shaped dicts."""

from __future__ import annotations

from typing import Any

from client.codec import from_dict
from master.scheduler.framework import Code, CycleState, NodeInfo, PodInfo, Snapshot, Status
from proto import core_pb2


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
    unschedulable: bool = False,
    extended: dict[str, str] | None = None,
) -> core_pb2.Node:
    """A Node with allocatable resources (`extended`: more of them, such as
    `nvidia.com/gpu`) and the hostname label."""
    return from_dict(
        core_pb2.Node,
        {
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/hostname": name, **(labels or {})},
            },
            "spec": {"unschedulable": unschedulable, "taints": taints or []},
            "status": {
                "allocatable": {"cpu": cpu, "memory": memory, "pods": pods, **(extended or {})}
            },
        },
    )


def pod(
    name: str,
    *,
    namespace: str = "default",
    cpu: str | None = None,
    memory: str | None = None,
    labels: dict[str, str] | None = None,
    node_name: str = "",
    host_ports: list[int] | None = None,
    priority: int | None = None,
    extended: dict[str, str] | None = None,
    **spec: Any,
) -> core_pb2.Pod:
    """A one-container Pod (`extended`: its requests beyond cpu and memory); extra keyword
    arguments are spec fields in manifest spelling."""
    requests = dict(extended or {})
    if cpu:
        requests["cpu"] = cpu
    if memory:
        requests["memory"] = memory
    container: dict[str, Any] = {"name": "c", "image": "busybox:1.35"}
    if requests:
        container["resources"] = {"requests": requests}
    if host_ports:
        container["ports"] = [{"containerPort": p, "hostPort": p} for p in host_ports]
    body: dict[str, Any] = {"containers": [container], **spec}
    if node_name:
        body["nodeName"] = node_name
    if priority is not None:
        body["priority"] = priority
    return from_dict(
        core_pb2.Pod,
        {
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": body,
        },
    )


def node_info(n: core_pb2.Node, *pods: core_pb2.Pod) -> NodeInfo:
    """A NodeInfo holding the pods."""
    return NodeInfo.of(n, [PodInfo.of(p) for p in pods])


def snapshot(*infos: NodeInfo) -> Snapshot:
    """A Snapshot over the node infos."""
    return Snapshot(list(infos))


def prefiltered(plugin: Any, p: core_pb2.Pod, snap: Snapshot) -> tuple[CycleState, PodInfo]:
    """Run a plugin's pre_filter (which must not skip) and return the state and pod info."""
    state = CycleState()
    info = PodInfo.of(p)
    assert plugin.pre_filter(state, info, snap).ok
    return state, info


def filter_all(plugin: Any, p: core_pb2.Pod, snap: Snapshot) -> dict[str, Status]:
    """PreFilter then Filter on every node, as the algorithm runs them (Skip = Success)."""
    state = CycleState()
    info = PodInfo.of(p)
    st = plugin.pre_filter(state, info, snap)
    if st.code is Code.SKIP:
        return {n.name: Status() for n in snap.nodes}
    assert st.ok
    return {n.name: plugin.filter(state, info, n) for n in snap.nodes}


def score_all(plugin: Any, p: core_pb2.Pod, snap: Snapshot) -> dict[str, int]:
    """PreScore, Score and Normalize on every node; a skipped Score counts as all zeros."""
    state = CycleState()
    info = PodInfo.of(p)
    if hasattr(plugin, "pre_filter"):
        plugin.pre_filter(state, info, snap)
    if plugin.pre_score(state, info, snap.nodes, snap).code is Code.SKIP:
        return {n.name: 0 for n in snap.nodes}
    scores = {n.name: plugin.score(state, info, n) for n in snap.nodes}
    plugin.normalize(state, info, scores)
    return dict(scores)

"""Safety rules of the scheduler over random clusters (hypothesis), in memory.

Whatever the nodes and pods: no node is given more cpu, memory or pods than it has,
no pod lands on a cordoned node or one with a taint it does not tolerate, every
nodeSelector holds, and a pod left unbound really fits nowhere.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from master.scheduler.framework import NodeInfo, PodInfo
from master.scheduler.matching import tolerated
from master.scheduler.plugins.node_resources_fit import insufficient
from master.scheduler.scheduler import Scheduler
from proto import core_pb2
from tests.unit.scheduler.builders import node, pod
from tests.unit.scheduler.recording import RecordingWriter

GPU_TAINT = {"key": "gpu", "value": "yes", "effect": "NoSchedule"}

nodes_st = st.lists(
    st.fixed_dictionaries(
        {
            "cpu": st.sampled_from(["1", "2", "4"]),
            "memory": st.sampled_from(["1Gi", "2Gi"]),
            "pods": st.sampled_from(["2", "5", "110"]),
            "zone": st.sampled_from(["a", "b"]),
            "cordoned": st.booleans(),
            "gpu": st.booleans(),
        }
    ),
    min_size=1,
    max_size=6,
)
pods_st = st.lists(
    st.fixed_dictionaries(
        {
            "cpu": st.sampled_from(["100m", "500m", "1", "3"]),
            "memory": st.sampled_from(["64Mi", "512Mi", "1Gi"]),
            "zone": st.sampled_from([None, "a", "b"]),
            "tolerates_gpu": st.booleans(),
        }
    ),
    min_size=1,
    max_size=25,
)


def build_node(i: int, spec: dict[str, Any]) -> core_pb2.Node:
    return node(
        f"n{i}",
        cpu=spec["cpu"],
        memory=spec["memory"],
        pods=spec["pods"],
        labels={"zone": spec["zone"]},
        taints=[GPU_TAINT] if spec["gpu"] else [],
        unschedulable=spec["cordoned"],
    )


def build_pod(i: int, spec: dict[str, Any]) -> core_pb2.Pod:
    extra: dict[str, Any] = {}
    if spec["zone"]:
        extra["nodeSelector"] = {"zone": spec["zone"]}
    if spec["tolerates_gpu"]:
        extra["tolerations"] = [{"key": "gpu", "operator": "Exists"}]
    return pod(f"p{i}", cpu=spec["cpu"], memory=spec["memory"], **extra)


async def schedule_all(nodes: list[core_pb2.Node], pods: list[core_pb2.Pod]) -> dict[str, str]:
    w = RecordingWriter()
    s = Scheduler(w)
    for n in nodes:
        s.on_node(n)
    for p in pods:
        s.on_pod(p)
    for _ in range(len(pods) * 2):
        if not await s.schedule_one(max_wait=0):
            break
    await s.drain()
    return dict(w.binds)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes_st, pods_st)
def test_no_node_is_overcommitted_and_every_hard_rule_holds(node_specs, pod_specs):
    nodes = [build_node(i, n) for i, n in enumerate(node_specs)]
    pods = [build_pod(i, p) for i, p in enumerate(pod_specs)]
    placed = asyncio.run(schedule_all(nodes, pods))
    by_name = {n.metadata.name: n for n in nodes}
    infos = {n.metadata.name: NodeInfo.of(n) for n in nodes}
    for p in pods:
        key = f"default/{p.metadata.name}"
        target = placed.get(key)
        if target is None:
            continue
        n = by_name[target]
        assert not n.spec.unschedulable, f"{key} on cordoned {target}"
        for taint in n.spec.taints:
            assert tolerated(taint, p.spec.tolerations), f"{key} on tainted {target}"
        for k, v in p.spec.node_selector.items():
            assert n.metadata.labels.get(k) == v, f"{key} breaks its nodeSelector on {target}"
        info = PodInfo.of(p)
        assert not insufficient(info, infos[target]), f"{target} overcommitted by {key}"
        infos[target].add_pod(info)
    # A pod left pending fits on no node given what was placed.
    for p in pods:
        key = f"default/{p.metadata.name}"
        if key in placed:
            continue
        info = PodInfo.of(p)
        for name, n in by_name.items():
            fits = (
                not n.spec.unschedulable
                and all(tolerated(t, p.spec.tolerations) for t in n.spec.taints)
                and all(n.metadata.labels.get(k) == v for k, v in p.spec.node_selector.items())
                and not insufficient(info, infos[name])
            )
            assert not fits, f"{key} stayed pending although {name} had room"

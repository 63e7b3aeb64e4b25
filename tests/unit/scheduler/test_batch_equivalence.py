"""Every batch Filter and Score decides exactly as its per-node form, over random clusters.

The batch forms over the NodeTable are what the algorithm runs; the per-node forms are
the readable rule (and what a FitError's reasons come from). Any difference between
the two would place a pod where its own filter says no.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from master.scheduler.algorithm import default_profile
from master.scheduler.framework import (
    BatchFilterPlugin,
    BatchScorePlugin,
    CycleState,
    NodeInfo,
    PodInfo,
    Snapshot,
)
from master.scheduler.nodetable import NodeTable
from proto import core_pb2
from tests.unit.scheduler.builders import node, pod

TAINTS = [
    {"key": "gpu", "value": "yes", "effect": "NoSchedule"},
    {"key": "spot", "value": "true", "effect": "PreferNoSchedule"},
    {"key": "drain", "value": "", "effect": "NoExecute"},
]
TOLERATIONS = [
    {"key": "gpu", "operator": "Exists"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists"},
    {"operator": "Exists", "effect": "NoExecute"},
]

node_st = st.fixed_dictionaries(
    {
        "cpu": st.sampled_from(["0", "1", "2", "3500m"]),
        "memory": st.sampled_from(["0", "1Gi", "3Gi"]),
        "pods": st.sampled_from(["1", "3", "110"]),
        "cordoned": st.booleans(),
        "gpus": st.sampled_from([None, "1", "2"]),
        "gpu_pods": st.integers(min_value=0, max_value=2),
        "taints": st.lists(st.sampled_from(TAINTS), max_size=2, unique_by=lambda t: t["key"]),
        "pods_on": st.lists(
            st.tuples(
                st.sampled_from([None, "100m", "1", "2"]),
                st.sampled_from([None, "256Mi", "1Gi"]),
                st.sampled_from([0, 80, 443]),
            ),
            max_size=3,
        ),
    }
)
pod_st = st.fixed_dictionaries(
    {
        "cpu": st.sampled_from([None, "100m", "1", "2500m"]),
        "memory": st.sampled_from([None, "128Mi", "2Gi"]),
        "tolerations": st.lists(st.sampled_from(TOLERATIONS), max_size=2),
        "port": st.sampled_from([0, 80, 8080]),
        "node_name": st.sampled_from(["", "n0", "n3", "elsewhere"]),
        "gpus": st.sampled_from([None, "1", "2"]),
    }
)


def build_info(i: int, spec: dict[str, Any]) -> NodeInfo:
    n = node(
        f"n{i}",
        cpu=spec["cpu"],
        memory=spec["memory"],
        pods=spec["pods"],
        taints=spec["taints"],
        unschedulable=spec["cordoned"],
        extended={"nvidia.com/gpu": spec["gpus"]} if spec["gpus"] else None,
    )
    placed = [
        PodInfo.of(pod(f"g{i}-{j}", extended={"nvidia.com/gpu": "1"}, node_name=n.metadata.name))
        for j in range(spec["gpu_pods"])
    ]
    for j, (cpu, mem, port) in enumerate(spec["pods_on"]):
        placed.append(
            PodInfo.of(
                pod(
                    f"e{i}-{j}",
                    cpu=cpu,
                    memory=mem,
                    node_name=n.metadata.name,
                    host_ports=[port] if port else None,
                )
            )
        )
    return NodeInfo.of(n, placed)


def build_pod(spec: dict[str, Any]) -> core_pb2.Pod:
    extra: dict[str, Any] = {"tolerations": spec["tolerations"]} if spec["tolerations"] else {}
    if spec["node_name"]:
        extra["nodeName"] = spec["node_name"]
    return pod(
        "p",
        cpu=spec["cpu"],
        memory=spec["memory"],
        host_ports=[spec["port"]] if spec["port"] else None,
        extended={"nvidia.com/gpu": spec["gpus"]} if spec["gpus"] else None,
        **extra,
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(node_st, min_size=1, max_size=8), pod_st)
def test_batch_filters_and_scores_match_the_per_node_rule(node_specs, pod_spec):
    infos = [build_info(i, s) for i, s in enumerate(node_specs)]
    snap = Snapshot(infos)
    info = PodInfo.of(build_pod(pod_spec))
    profile = default_profile()
    state = CycleState()
    for f in profile.filters:
        if not isinstance(f, BatchFilterPlugin):
            continue
        batch = f.filter_batch(state, info, snap).tolist()
        one_by_one = [f.filter(state, info, n).ok for n in infos]
        assert batch == one_by_one, f.name
    rows = snap.table.rows
    picked = sorted(rows.values(), reverse=True)
    row_array = np.array(picked, dtype=np.int64)
    for sp in profile.scores:
        if not isinstance(sp, BatchScorePlugin):
            continue
        batch_scores = sp.score_batch(state, info, snap.table, row_array).tolist()
        per_node = [sp.score(state, info, infos[r]) for r in picked]
        assert batch_scores == per_node, sp.name


def test_the_table_mirrors_each_node_info_row_by_row():
    infos = [
        build_info(0, {**NODE_DEFAULTS, "cordoned": True}),
        build_info(1, {**NODE_DEFAULTS, "taints": [TAINTS[0]], "pods_on": [("1", None, 80)]}),
        build_info(2, {**NODE_DEFAULTS, "taints": [TAINTS[1]]}),
    ]
    table = NodeTable.of(infos)
    assert table.rows == {"n0": 0, "n1": 1, "n2": 2}
    assert table.unschedulable.tolist() == [True, False, False]
    assert table.hard_taints.tolist() == [False, True, False]
    assert table.soft_taints.tolist() == [False, False, True]
    assert table.used_ports.tolist() == [False, True, False]
    assert table.req_cpu.tolist() == [0, 1000, 0]
    assert table.alloc_cpu.tolist() == [2000, 2000, 2000]


NODE_DEFAULTS: dict[str, Any] = {
    "cpu": "2",
    "memory": "1Gi",
    "pods": "110",
    "cordoned": False,
    "gpus": None,
    "gpu_pods": 0,
    "taints": [],
    "pods_on": [],
}

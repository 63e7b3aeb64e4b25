"""percentageOfNodesToScore: a bounded share of feasible nodes, found from a rotating start.

Large clusters look for only `num_feasible_nodes_to_find` feasible nodes per pod and
score only those; the next pod starts where the last search stopped, so probes spread
over the cluster; and a pod that fits one node only still finds it, wherever it is.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from master.scheduler.algorithm import Algorithm, _in_rotated_order, default_profile
from master.scheduler.framework import CycleState, NodeInfo, PodInfo, Snapshot
from master.scheduler.matching import tolerated
from master.scheduler.plugins.node_resources_fit import insufficient
from master.scheduler.scheduler import Scheduler
from proto import core_pb2
from tests.unit.scheduler.builders import node, pod
from tests.unit.scheduler.recording import RecordingWriter


class CountingScore:
    """A Score plugin without a batch form that counts the nodes it is asked about."""

    name = "Counting"
    weight = 1

    def __init__(self) -> None:
        self.scored: list[str] = []

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        self.scored.append(node.name)
        return 0


def cluster(count: int, **kinds: Any) -> Snapshot:
    """`count` nodes n0000.. with 4 cpus; `kinds` maps a node index to other node args."""
    base = node("n", cpu="4")
    infos = []
    for i in range(count):
        if i in kinds.get("special", {}):
            n = node(f"n{i:04}", **kinds["special"][i])
        else:
            n = core_pb2.Node()
            n.CopyFrom(base)
            n.metadata.name = f"n{i:04}"
        infos.append(NodeInfo.of(n))
    return Snapshot(infos)


def test_five_thousand_nodes_score_only_the_adaptive_500_and_the_next_pod_starts_after():
    snap = cluster(5000)
    profile = default_profile()
    counting = CountingScore()
    profile.scores.append(counting)
    algo = Algorithm(profile=profile)
    first = algo.schedule(PodInfo.of(pod("a")), snap)
    assert (first.evaluated_nodes, first.feasible_nodes) == (500, 500)
    assert counting.scored == [f"n{i:04}" for i in range(500)]
    assert algo.next_start_index == 500
    counting.scored.clear()
    second = algo.schedule(PodInfo.of(pod("b")), snap)
    assert second.feasible_nodes == 500
    assert counting.scored == [f"n{i:04}" for i in range(500, 1000)]
    assert algo.next_start_index == 1000


def test_infeasible_nodes_are_passed_over_and_count_as_evaluated():
    # Every even node is full: the 420 feasible nodes are the odd ones up to n0839.
    full = {i: {"cpu": "0"} for i in range(0, 1000, 2)}
    snap = cluster(1000, special=full)
    algo = Algorithm()
    first = algo.schedule(PodInfo.of(pod("a", cpu="1")), snap)
    assert int(first.node[1:]) % 2 == 1
    assert (first.evaluated_nodes, first.feasible_nodes) == (840, 420)
    assert algo.next_start_index == 840
    # The next search wraps around: 80 odd nodes up to n0999, then 340 from n0001.
    second = algo.schedule(PodInfo.of(pod("b", cpu="1")), snap)
    assert second.feasible_nodes == 420
    assert algo.next_start_index == 680


def test_a_pod_that_fits_one_node_far_down_the_list_still_finds_it():
    snap = cluster(1000, special={990: {"cpu": "16"}})
    algo = Algorithm(next_start_index=17)
    result = algo.schedule(PodInfo.of(pod("big", cpu="8")), snap)
    assert result.node == "n0990"
    assert (result.evaluated_nodes, result.feasible_nodes) == (1000, 1)
    assert algo.next_start_index == 17, "every node was looked at once"


def test_a_filter_without_a_batch_form_still_finds_the_only_matching_node():
    # NodeAffinity runs node by node, only on nodes the batch filters let through.
    snap = cluster(
        1000,
        special={
            3: {"cpu": "0", "labels": {"disk": "ssd"}},
            700: {"labels": {"disk": "ssd"}},
        },
    )
    algo = Algorithm()
    result = algo.schedule(PodInfo.of(pod("p", cpu="1", nodeSelector={"disk": "ssd"})), snap)
    assert result.node == "n0700"


# ---- every placement under sampling passes every filter (hypothesis) ----

GPU_TAINT = {"key": "gpu", "value": "yes", "effect": "NoSchedule"}
KINDS = [
    {"cpu": "1", "memory": "1Gi", "pods": "2", "zone": "a", "cordoned": False, "gpu": False},
    {"cpu": "2", "memory": "2Gi", "pods": "110", "zone": "b", "cordoned": False, "gpu": True},
    {"cpu": "4", "memory": "1Gi", "pods": "5", "zone": "a", "cordoned": True, "gpu": False},
    {"cpu": "500m", "memory": "2Gi", "pods": "110", "zone": "b", "cordoned": False, "gpu": False},
]

pods_st = st.lists(
    st.fixed_dictionaries(
        {
            "cpu": st.sampled_from(["100m", "500m", "1", "3"]),
            "memory": st.sampled_from(["64Mi", "512Mi", "1Gi"]),
            "zone": st.sampled_from([None, "a", "b"]),
            "tolerates_gpu": st.booleans(),
            "port": st.sampled_from([0, 0, 80]),
        }
    ),
    min_size=1,
    max_size=40,
)


def build_node(i: int, spec: dict[str, Any]) -> core_pb2.Node:
    return node(
        f"n{i:03}",
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
    ports = [spec["port"]] if spec["port"] else None
    return pod(f"p{i}", cpu=spec["cpu"], memory=spec["memory"], host_ports=ports, **extra)


def fits(p: core_pb2.Pod, n: core_pb2.Node, info: NodeInfo) -> bool:
    pi = PodInfo.of(p)
    return (
        not n.spec.unschedulable
        and all(tolerated(t, p.spec.tolerations) for t in n.spec.taints)
        and all(n.metadata.labels.get(k) == v for k, v in p.spec.node_selector.items())
        and not insufficient(pi, info)
        and not any(w.conflicts(u) for w in pi.host_ports for u in info.used_ports)
    )


async def schedule_all(
    nodes: list[core_pb2.Node], pods: list[core_pb2.Pod], percentage: int
) -> dict[str, str]:
    w = RecordingWriter()
    s = Scheduler(w, algorithm=Algorithm(percentage_of_nodes_to_score=percentage))
    for n in nodes:
        s.on_node(n)
    for p in pods:
        s.on_pod(p)
    for _ in range(len(pods) * 2):
        if not await s.schedule_one(max_wait=0):
            break
    await s.drain()
    return dict(w.binds)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(range(len(KINDS))), min_size=150, max_size=260),
    pods_st,
    st.sampled_from([0, 1, 40]),
)
def test_with_sampling_every_placement_passes_every_filter(kinds, pod_specs, percentage):
    nodes = [build_node(i, KINDS[k]) for i, k in enumerate(kinds)]
    pods = [build_pod(i, p) for i, p in enumerate(pod_specs)]
    placed = asyncio.run(schedule_all(nodes, pods, percentage))
    by_name = {n.metadata.name: n for n in nodes}
    infos = {name: NodeInfo.of(n) for name, n in by_name.items()}
    for p in pods:
        key = f"default/{p.metadata.name}"
        target = placed.get(key)
        if target is None:
            continue
        assert fits(p, by_name[target], infos[target]), f"{key} placed on {target} breaks a rule"
        infos[target].add_pod(PodInfo.of(p))
    for p in pods:
        key = f"default/{p.metadata.name}"
        if key not in placed:
            room = [name for name, n in by_name.items() if fits(p, n, infos[name])]
            assert not room, f"{key} stayed pending although {room[:3]} had room"


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 300).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.integers(0, n - 1),
            st.integers(1, n),
            st.none() | st.lists(st.booleans(), min_size=n, max_size=n),
        )
    )
)
def test_the_rotated_candidates_start_the_full_rotated_order(case: Any) -> None:
    n, start, enough, flags = case
    mask = None if flags is None else np.array(flags, np.bool_)
    rotated = [*range(start, n), *range(start)]
    every = [r for r in rotated if mask is None or mask[r]]
    got = _in_rotated_order(mask, n, start, enough).tolist()
    # A prefix of the whole order, long enough for the sample (or all there is).
    assert got == every[: len(got)]
    assert len(got) >= min(enough, len(every))

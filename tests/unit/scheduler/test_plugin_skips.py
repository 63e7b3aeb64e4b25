"""Plugins with nothing to check are skipped, and only then.

PreFilter says Skip when the cluster gives a plugin nothing to look at (no taint, no
cordon, no pod with anti-affinity, no hostPort wanted): most pods then pay for
NodeResourcesFit alone. Once the cluster changes (a taint, a cordon, an anti-affinity
pod bound), the next pod's cycle runs the plugin again.
"""

from __future__ import annotations

from typing import Any

from master.scheduler.algorithm import Algorithm
from master.scheduler.framework import CycleState, PodInfo
from master.scheduler.scheduler import Scheduler
from proto import core_pb2
from tests.unit.scheduler.builders import node, pod
from tests.unit.scheduler.recording import RecordingWriter


def skipped_filters(s: Scheduler, p: core_pb2.Pod) -> set[str]:
    state = CycleState()
    assert s.algorithm.run_pre_filters(state, PodInfo.of(p), s.cache.snapshot()).ok
    return state.skip_filter


async def schedule_pending(s: Scheduler, *, limit: int = 100) -> None:
    for _ in range(limit):
        if not await s.schedule_one(max_wait=0):
            break
    await s.drain()


def three_nodes(s: Scheduler, **first: Any) -> None:
    s.on_node(node("n1", **first))
    s.on_node(node("n2"))
    s.on_node(node("n3"))


async def test_a_plain_pod_in_a_plain_cluster_skips_every_filter_but_resources():
    s = Scheduler(RecordingWriter())
    three_nodes(s)
    assert skipped_filters(s, pod("p", cpu="1")) == {
        "NodeUnschedulable",
        "NodeName",
        "TaintToleration",
        "NodeAffinity",
        "NodePorts",
        "VolumeBinding",
        "PodTopologySpread",
        "InterPodAffinity",
    }


async def test_a_taint_added_later_makes_taint_toleration_run_again():
    w = RecordingWriter()
    s = Scheduler(w)
    three_nodes(s)
    assert "TaintToleration" in skipped_filters(s, pod("x"))
    taint = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    s.on_node(node("n1", taints=taint))
    s.on_node(node("n2", taints=taint))
    assert "TaintToleration" not in skipped_filters(s, pod("x"))
    for i in range(6):
        s.on_pod(pod(f"p{i}", cpu="100m"))
    await schedule_pending(s)
    assert {n for _, n in w.binds} == {"n3"}


async def test_a_cordon_added_later_makes_node_unschedulable_run_again():
    w = RecordingWriter()
    s = Scheduler(w)
    three_nodes(s)
    assert "NodeUnschedulable" in skipped_filters(s, pod("x"))
    s.on_node(node("n1", unschedulable=True))
    s.on_node(node("n3", unschedulable=True))
    assert "NodeUnschedulable" not in skipped_filters(s, pod("x"))
    tolerant = pod(
        "t", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]
    )
    assert "NodeUnschedulable" in skipped_filters(s, tolerant), "the cordon is tolerated"
    for i in range(6):
        s.on_pod(pod(f"p{i}", cpu="100m"))
    await schedule_pending(s)
    assert {n for _, n in w.binds} == {"n2"}


async def test_an_anti_affinity_pod_bound_later_makes_inter_pod_affinity_run_again():
    w = RecordingWriter()
    s = Scheduler(w)
    three_nodes(s)
    web = pod("web-0", labels={"app": "web"})
    assert "InterPodAffinity" in skipped_filters(s, web)
    guard = pod(
        "guard",
        node_name="n1",
        affinity={
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": {"app": "web"}},
                        "topologyKey": "kubernetes.io/hostname",
                    }
                ]
            }
        },
    )
    s.on_pod(guard)
    assert "InterPodAffinity" not in skipped_filters(s, web)
    assert "InterPodAffinity" in skipped_filters(s, pod("other", labels={"app": "db"})), (
        "a pod the guard does not select still skips"
    )
    for i in range(6):
        s.on_pod(pod(f"web-{i}", labels={"app": "web"}))
    await schedule_pending(s)
    assert len(w.binds) == 6
    assert "n1" not in {n for _, n in w.binds}


async def test_a_pod_wanting_a_host_port_runs_node_ports_and_avoids_the_holder():
    w = RecordingWriter()
    s = Scheduler(w)
    three_nodes(s)
    s.on_pod(pod("holder", node_name="n2", host_ports=[80]))
    assert "NodePorts" in skipped_filters(s, pod("x"))
    assert "NodePorts" not in skipped_filters(s, pod("x", host_ports=[80]))
    s.on_pod(pod("a", host_ports=[80]))
    s.on_pod(pod("b", host_ports=[80]))
    s.on_pod(pod("c", host_ports=[80]))
    await schedule_pending(s)
    assert sorted(n for _, n in w.binds) == ["n1", "n3"]
    assert len(w.unschedulable) == 1


def test_a_skipped_score_changes_no_choice():
    # TaintToleration's Score is skipped when no feasible node has a soft taint: every
    # node would get the same 100, so the choice is the one with the score.
    infos = [node("busy"), node("idle")]
    s = Scheduler(RecordingWriter())
    for n in infos:
        s.on_node(n)
    s.on_pod(pod("e", cpu="3", node_name="busy"))
    algo = Algorithm()
    state = CycleState()
    info = PodInfo.of(pod("p", cpu="1"))
    snap = s.cache.snapshot()
    assert algo.run_pre_filters(state, info, snap).ok
    feasible, _ = algo.find_feasible(state, info, snap)
    algo.prioritize(state, info, feasible, snap)
    assert "TaintToleration" in state.skip_score
    assert algo.schedule(info, snap).node == "idle"
    assert state.skip_score >= {"NodeAffinity", "InterPodAffinity"}

"""The scheduler cache: assume, confirm, forget, and what frees a node's room."""

from __future__ import annotations

from master.scheduler.cache import Cache
from master.scheduler.framework import PodInfo
from proto import core_pb2
from tests.unit.scheduler.builders import node, pod


def bound(p: core_pb2.Pod, node_name: str, phase: str = "Running") -> core_pb2.Pod:
    out = core_pb2.Pod()
    out.CopyFrom(p)
    out.spec.node_name = node_name
    out.status.phase = phase
    return out


def cpu_used(cache: Cache, name: str) -> int:
    info = cache.node(name)
    assert info is not None
    return info.requested.milli_cpu


def test_an_assumed_pod_counts_at_once_and_forget_undoes_it():
    c = Cache()
    c.set_node(node("n1"))
    c.assume(PodInfo.of(pod("a", cpu="1")), "n1")
    assert cpu_used(c, "n1") == 1000 and c.is_assumed("default/a")
    c.forget("default/a")
    assert cpu_used(c, "n1") == 0 and c.node_of("default/a") is None


def test_the_informers_bound_pod_confirms_the_assumed_one_without_double_counting():
    c = Cache()
    c.set_node(node("n1"))
    p = pod("a", cpu="1")
    c.assume(PodInfo.of(p), "n1")
    c.set_pod(bound(p, "n1"))
    assert not c.is_assumed("default/a")
    assert cpu_used(c, "n1") == 1000
    c.forget("default/a")  # a late forget must not undo a confirmed pod
    assert cpu_used(c, "n1") == 1000


def test_a_finished_pod_frees_its_room():
    c = Cache()
    c.set_node(node("n1"))
    p = pod("job", cpu="1")
    c.set_pod(bound(p, "n1"))
    c.set_pod(bound(p, "n1", phase="Succeeded"))
    assert cpu_used(c, "n1") == 0


def test_pods_seen_before_their_node_are_counted_once_it_arrives():
    c = Cache()
    c.set_pod(bound(pod("early", cpu="1"), "late-node"))
    assert c.node("late-node") is None
    assert c.snapshot().nodes == []
    c.set_node(node("late-node"))
    assert cpu_used(c, "late-node") == 1000
    assert [n.name for n in c.snapshot().nodes] == ["late-node"]


def test_a_removed_node_leaves_the_snapshot():
    c = Cache()
    c.set_node(node("a"))
    c.set_node(node("b"))
    c.remove_node("a")
    assert [n.name for n in c.snapshot().nodes] == ["b"]

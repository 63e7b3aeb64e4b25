"""The scheduler cache: assume, confirm, forget, and what frees a node's room."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from master.scheduler.cache import Cache
from master.scheduler.framework import NodeInfo, PodInfo
from master.scheduler.nodetable import NodeTable
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


# ---- the snapshot kept up to date row by row ----

TABLE_COLUMNS = (
    "alloc_cpu",
    "alloc_memory",
    "alloc_pods",
    "req_cpu",
    "req_memory",
    "req_pods",
    "non_zero_cpu",
    "non_zero_memory",
    "unschedulable",
    "hard_taints",
    "soft_taints",
    "used_ports",
    "affinity_pods",
    "anti_affinity_pods",
)

ANTI = {
    "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"a": "b"}}, "topologyKey": "zone"}
        ]
    }
}
operation = st.tuples(
    st.sampled_from(["node", "taint", "cordon", "assume", "forget", "bind", "delete", "drop"]),
    st.integers(0, 3),
    st.integers(0, 5),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(operation, max_size=40))
def test_the_kept_table_equals_one_built_afresh_after_any_changes(ops):
    c = Cache()
    c.snapshot()
    for kind, n, p in ops:
        name, key = f"n{n}", f"default/p{p}"
        if kind == "node":
            c.set_node(node(name, cpu=str(n + 1)))
        elif kind == "taint":
            c.set_node(node(name, taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]))
        elif kind == "cordon":
            c.set_node(node(name, unschedulable=True))
        elif kind == "assume" and c.node(name) is not None and c.node_of(key) is None:
            extra: dict[str, Any] = {"affinity": ANTI} if p % 2 else {}
            c.assume(PodInfo.of(pod(f"p{p}", cpu="100m", host_ports=[p + 1], **extra)), name)
        elif kind == "forget":
            c.forget(key)
        elif kind == "bind":
            c.set_pod(pod(f"p{p}", cpu="200m", node_name=name))
        elif kind == "delete":
            c.remove_pod(key)
        elif kind == "drop":
            c.remove_node(name)
        if p % 3 == 0:
            c.snapshot()  # a cycle in between: later changes must reach the kept table
    snap = c.snapshot()
    fresh = NodeTable.of(snap.nodes)
    assert snap.table.rows == fresh.rows
    assert snap.table.counts == fresh.counts
    for column in TABLE_COLUMNS:
        kept, built = getattr(snap.table, column).tolist(), getattr(fresh, column).tolist()
        assert kept == built, column


def test_a_cycle_rewrites_only_the_rows_of_nodes_that_changed():
    c = Cache()
    for i in range(4):
        c.set_node(node(f"n{i}"))
    table = c.snapshot().table
    written: list[int] = []
    original = table.set_row

    def spy(i: int, info: NodeInfo) -> None:
        written.append(i)
        original(i, info)

    table.set_row = spy  # type: ignore[method-assign]
    c.assume(PodInfo.of(pod("a", cpu="1")), "n2")
    assert c.snapshot().table is table
    assert written == [2]
    written.clear()
    c.snapshot()
    assert written == []

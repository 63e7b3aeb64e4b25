"""The scheduler cache: assume, confirm, forget, and what frees a node's room."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from master.scheduler.cache import Cache
from master.scheduler.framework import NodeInfo, PodInfo
from master.scheduler.nodetable import AMOUNTS, FLAGS, NodeTable
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

TABLE_COLUMNS = (*AMOUNTS, *FLAGS)

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
@given(st.lists(operation, max_size=40), st.sampled_from([0, 24]))
def test_the_kept_table_equals_one_built_afresh_after_any_changes(ops, others):
    c = Cache()
    # With other nodes about, a few nodes coming and going change rows in place.
    for i in range(others):
        c.set_node(node(f"other-{i}"))
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
    present = sorted(name for name in (f"n{i}" for i in range(4)) if c.node(name) is not None)
    assert sorted(n.name for n in snap.nodes if n.name.startswith("n")) == present
    assert all(c.node(n.name) is n for n in snap.nodes)
    fresh = NodeTable.of(snap.nodes)
    assert snap.table.rows == fresh.rows
    assert snap.table.names == fresh.names
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


def test_a_node_that_comes_or_goes_changes_one_row_not_the_table():
    c = Cache()
    for i in range(20):
        c.set_node(node(f"n{i:02}"))
    table = c.snapshot().table
    c.set_node(node("new", cpu="7"))
    snap = c.snapshot()
    assert snap.table is table
    assert snap.nodes[-1].name == "new" and table.rows["new"] == 20
    assert table.alloc_cpu[20] == 7000 and table.size == len(snap.nodes) == 21
    c.remove_node("n03")
    snap = c.snapshot()
    assert snap.table is table
    # The last row moved into the removed node's row.
    assert snap.nodes[3].name == "new" and table.rows["new"] == 3 and "n03" not in table.rows
    assert table.alloc_cpu[3] == 7000 and table.size == len(snap.nodes) == 20


def test_a_node_that_goes_and_comes_back_gets_its_new_figures():
    c = Cache()
    for i in range(20):
        c.set_node(node(f"n{i:02}"))
    c.snapshot()
    c.remove_node("n05")
    c.set_node(node("n05", cpu="9"))
    snap = c.snapshot()
    info = c.node("n05")
    assert info is not None and snap.nodes[snap.table.rows["n05"]] is info
    assert snap.table.alloc_cpu[snap.table.rows["n05"]] == 9000

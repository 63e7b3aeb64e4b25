"""PodTopologySpread: maxSkew with DoNotSchedule filters, ScheduleAnyway scores."""

from __future__ import annotations

from typing import Any

import pytest

from master.scheduler.framework import Code, CycleState, PodInfo
from master.scheduler.plugins.pod_topology_spread import (
    MISSING_LABEL_REASON,
    REASON,
    PodTopologySpread,
)
from proto import core_pb2
from tests.unit.scheduler.builders import (
    filter_all,
    node,
    node_info,
    pod,
    prefiltered,
    score_all,
    snapshot,
)

ZONE = "topology.kubernetes.io/zone"


def constraint(max_skew: int = 1, when: str = "DoNotSchedule", **extra: Any) -> dict[str, Any]:
    return {
        "maxSkew": max_skew,
        "topologyKey": ZONE,
        "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": {"app": "web"}},
        **extra,
    }


def web(name: str, node_name: str = "", **spec: Any) -> core_pb2.Pod:
    return pod(name, labels={"app": "web"}, node_name=node_name, **spec)


def cluster(counts: dict[str, int], *, extra_nodes: list[core_pb2.Node] | None = None):
    """One node per zone ("a" -> node za), holding `counts[zone]` web pods."""
    infos = []
    for zone, n in counts.items():
        infos.append(
            node_info(
                node(f"z{zone}", labels={ZONE: zone}),
                *(web(f"w-{zone}-{i}", f"z{zone}") for i in range(n)),
            )
        )
    for extra in extra_nodes or []:
        infos.append(node_info(extra))
    return snapshot(*infos)


def verdicts(incoming: core_pb2.Pod, snap) -> dict[str, str]:
    out = filter_all(PodTopologySpread(), incoming, snap)
    return {name: "ok" if st.ok else st.reasons[0] for name, st in out.items()}


@pytest.mark.parametrize(
    ("incoming", "counts", "expected"),
    [
        pytest.param(
            web("p", topologySpreadConstraints=[constraint()]),
            {"a": 1, "b": 0},
            {"za": REASON, "zb": "ok"},
            id="skew-one-goes-to-emptier-zone",
        ),
        pytest.param(
            web("p", topologySpreadConstraints=[constraint()]),
            {"a": 1, "b": 1},
            {"za": "ok", "zb": "ok"},
            id="balanced-either",
        ),
        pytest.param(
            web("p", topologySpreadConstraints=[constraint(max_skew=2)]),
            {"a": 1, "b": 0},
            {"za": "ok", "zb": "ok"},
            id="max-skew-two-allows-one-ahead",
        ),
        pytest.param(
            web("p", topologySpreadConstraints=[constraint(when="ScheduleAnyway")]),
            {"a": 3, "b": 0},
            {"za": "ok", "zb": "ok"},
            id="schedule-anyway-never-filters",
        ),
        pytest.param(
            pod("other", topologySpreadConstraints=[constraint()]),
            {"a": 1, "b": 0},
            {"za": "ok", "zb": "ok"},
            id="pod-not-matching-its-selector-adds-no-skew",
        ),
        pytest.param(
            web("p", topologySpreadConstraints=[constraint(minDomains=3)]),
            {"a": 1, "b": 1},
            {"za": REASON, "zb": REASON},
            id="fewer-domains-than-min-domains-means-global-minimum-zero",
        ),
        pytest.param(
            web("p", topologySpreadConstraints=[constraint()], nodeSelector={ZONE: "a"}),
            {"a": 3, "b": 0},
            {"za": "ok", "zb": "ok"},
            id="nodes-excluded-by-node-selector-are-not-domains",
        ),
    ],
)
def test_pod_topology_spread_filter(incoming, counts, expected):
    assert verdicts(incoming, cluster(counts)) == expected


def test_a_node_without_the_topology_key_is_unresolvable():
    snap = cluster({"a": 0}, extra_nodes=[node("nokey")])
    plugin = PodTopologySpread()
    state, info = prefiltered(plugin, web("p", topologySpreadConstraints=[constraint()]), snap)
    st = plugin.filter(state, info, snap.nodes[1])
    assert st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert st.reasons == (MISSING_LABEL_REASON,)


def test_a_skew_violation_is_resolvable_by_preemption():
    snap = cluster({"a": 1, "b": 0})
    plugin = PodTopologySpread()
    state, info = prefiltered(plugin, web("p", topologySpreadConstraints=[constraint()]), snap)
    assert plugin.filter(state, info, snap.nodes[0]).code is Code.UNSCHEDULABLE


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param({"a": 2, "b": 0}, {"za": 0, "zb": 100}, id="emptier-zone-scores-highest"),
        pytest.param({"a": 1, "b": 1}, {"za": 100, "zb": 100}, id="balanced-equal"),
        pytest.param({"a": 0, "b": 0}, {"za": 100, "zb": 100}, id="empty-equal"),
    ],
)
def test_pod_topology_spread_score(counts, expected):
    incoming = web("p", topologySpreadConstraints=[constraint(when="ScheduleAnyway")])
    assert score_all(PodTopologySpread(), incoming, cluster(counts)) == expected


def test_a_pod_without_constraints_skips_both_stages():
    plugin = PodTopologySpread()
    snap = cluster({"a": 1})
    state = CycleState()
    info = PodInfo.of(pod("free"))
    assert plugin.pre_filter(state, info, snap).code is Code.SKIP
    assert plugin.pre_score(state, info, snap.nodes, snap).code is Code.SKIP


def soft_scores(incoming: core_pb2.Pod, snap, feasible: list[str]) -> dict[str, int]:
    """PreScore over the `feasible` nodes (as the algorithm passes them), then Score and
    Normalize on those."""
    plugin = PodTopologySpread()
    state = CycleState()
    info = PodInfo.of(incoming)
    nodes = [n for n in snap.nodes if n.name in feasible]
    assert plugin.pre_score(state, info, nodes, snap).ok
    scores = {n.name: plugin.score(state, info, n) for n in nodes}
    plugin.normalize(state, info, scores)
    return scores


def test_a_domain_score_is_rounded_before_normalizing_so_close_domains_score_close():
    # 2 and 3 matching pods times log(4): 2.77 and 4.16 round to 3 and 4, so the fuller
    # zone gets 100 * (4 + 3 - 4) / 4 = 75 (unrounded it would get 66).
    incoming = web("p", topologySpreadConstraints=[constraint(when="ScheduleAnyway")])
    assert soft_scores(incoming, cluster({"a": 2, "b": 3}), ["za", "zb"]) == {
        "za": 100,
        "zb": 75,
    }


def test_only_the_feasible_nodes_domains_weigh_a_constraint():
    # Zone c holds no feasible node: two domains give log(4), not log(5), so 3 and 2
    # pods score round(4.16) = 4 and round(2.77) = 3, and the fuller zone 75 (with zone
    # c's domain counted, round(4.83) = 5 against 3 would give it 60).
    incoming = web("p", topologySpreadConstraints=[constraint(when="ScheduleAnyway")])
    snap = cluster({"a": 3, "b": 2, "c": 0})
    assert soft_scores(incoming, snap, ["za", "zb"]) == {"za": 75, "zb": 100}


def test_a_spread_constraint_without_a_selector_counts_no_pods():
    no_selector = {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}
    incoming = web("p", topologySpreadConstraints=[no_selector])
    assert verdicts(incoming, cluster({"a": 3, "b": 0})) == {"za": "ok", "zb": "ok"}


def test_a_hostname_constraint_counts_each_feasible_node_as_a_domain():
    by_host = constraint(when="ScheduleAnyway", topologyKey="kubernetes.io/hostname")
    incoming = web("p", topologySpreadConstraints=[by_host])
    snap = snapshot(
        node_info(node("n1"), web("w1", "n1"), web("w2", "n1")),
        node_info(node("n2")),
        node_info(node("n3"), web("w3", "n3")),
    )
    # log(3 + 2) per pod: n1 round(3.22) = 3, n2 0, n3 round(1.61) = 2.
    assert soft_scores(incoming, snap, ["n1", "n2", "n3"]) == {"n1": 0, "n2": 100, "n3": 33}

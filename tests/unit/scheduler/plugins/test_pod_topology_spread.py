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

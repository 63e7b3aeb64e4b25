"""InterPodAffinity: required and preferred pod (anti-)affinity by topologyKey."""

from __future__ import annotations

from typing import Any

import pytest

from master.scheduler.framework import Code, PodInfo
from master.scheduler.plugins.inter_pod_affinity import (
    AFFINITY_REASON,
    ANTI_AFFINITY_REASON,
    EXISTING_ANTI_AFFINITY_REASON,
    InterPodAffinity,
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
HOST = "kubernetes.io/hostname"


def term(app: str, key: str = ZONE, **extra: Any) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key, **extra}


def affinity(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def anti(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def cluster(*placed: core_pb2.Pod):
    """Nodes a1, a2 in zone a and b1 in zone b (c0 has no zone); pods by their nodeName."""
    nodes = [
        node("a1", labels={ZONE: "a"}),
        node("a2", labels={ZONE: "a"}),
        node("b1", labels={ZONE: "b"}),
        node("c0"),
    ]
    return snapshot(
        *(node_info(n, *(p for p in placed if p.spec.node_name == n.metadata.name)) for n in nodes)
    )


def feasible(incoming: core_pb2.Pod, *placed: core_pb2.Pod) -> dict[str, str]:
    verdicts = filter_all(InterPodAffinity(), incoming, cluster(*placed))
    return {name: "ok" if st.ok else st.reasons[0] for name, st in verdicts.items()}


DB_IN_A1 = pod("db", labels={"app": "db"}, node_name="a1")


@pytest.mark.parametrize(
    ("incoming", "placed", "expected"),
    [
        pytest.param(
            pod("web"), [DB_IN_A1], {"a1": "ok", "a2": "ok", "b1": "ok", "c0": "ok"}, id="no-terms"
        ),
        pytest.param(
            pod("web", affinity=affinity(term("db"))),
            [DB_IN_A1],
            {"a1": "ok", "a2": "ok", "b1": AFFINITY_REASON, "c0": AFFINITY_REASON},
            id="affinity-to-zone-of-db",
        ),
        pytest.param(
            pod("web", affinity=affinity(term("db", HOST))),
            [DB_IN_A1],
            {"a1": "ok", "a2": AFFINITY_REASON, "b1": AFFINITY_REASON, "c0": AFFINITY_REASON},
            id="affinity-to-host-of-db",
        ),
        pytest.param(
            pod("web", affinity=affinity(term("db"))),
            [],
            {
                "a1": AFFINITY_REASON,
                "a2": AFFINITY_REASON,
                "b1": AFFINITY_REASON,
                "c0": AFFINITY_REASON,
            },
            id="affinity-with-no-match-anywhere",
        ),
        pytest.param(
            pod("db2", labels={"app": "db"}, affinity=affinity(term("db"))),
            [],
            {"a1": "ok", "a2": "ok", "b1": "ok", "c0": AFFINITY_REASON},
            id="first-pod-of-self-selecting-group-goes-anywhere-with-the-key",
        ),
        pytest.param(
            pod("web", affinity=affinity(term("db"))),
            [pod("db", labels={"app": "db"}, node_name="a1", namespace="other")],
            {
                "a1": AFFINITY_REASON,
                "a2": AFFINITY_REASON,
                "b1": AFFINITY_REASON,
                "c0": AFFINITY_REASON,
            },
            id="other-namespace-does-not-count",
        ),
        pytest.param(
            pod("web", affinity=affinity(term("db", namespaces=["other"]))),
            [pod("db", labels={"app": "db"}, node_name="b1", namespace="other")],
            {"a1": AFFINITY_REASON, "a2": AFFINITY_REASON, "b1": "ok", "c0": AFFINITY_REASON},
            id="listed-namespace-counts",
        ),
        pytest.param(
            pod("web", affinity=anti(term("db"))),
            [DB_IN_A1],
            {"a1": ANTI_AFFINITY_REASON, "a2": ANTI_AFFINITY_REASON, "b1": "ok", "c0": "ok"},
            id="anti-affinity-avoids-zone-and-node-without-key-passes",
        ),
        pytest.param(
            pod("web", labels={"app": "web"}, affinity=anti(term("web", HOST))),
            [pod("w1", labels={"app": "web"}, node_name="a1")],
            {"a1": ANTI_AFFINITY_REASON, "a2": "ok", "b1": "ok", "c0": "ok"},
            id="one-per-host",
        ),
        pytest.param(
            pod("web", labels={"app": "web"}),
            [pod("lonely", node_name="b1", affinity=anti(term("web")))],
            {"a1": "ok", "a2": "ok", "b1": EXISTING_ANTI_AFFINITY_REASON, "c0": "ok"},
            id="existing-pods-anti-affinity-is-symmetric",
        ),
        pytest.param(
            pod("web", labels={"app": "web"}, affinity=affinity(term("db"))),
            [DB_IN_A1, pod("lonely", node_name="b1", affinity=anti(term("web")))],
            {"a1": "ok", "a2": "ok", "b1": AFFINITY_REASON, "c0": AFFINITY_REASON},
            id="own-affinity-is-checked-before-existing-pods-anti-affinity",
        ),
    ],
)
def test_inter_pod_affinity_filter(incoming, placed, expected):
    assert feasible(incoming, *placed) == expected


def test_a_terminating_pod_still_counts_until_it_is_gone():
    leaving = pod("w1", labels={"app": "web"}, node_name="a1")
    leaving.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    incoming = pod("web", labels={"app": "web"}, affinity=anti(term("web", HOST)))
    assert feasible(incoming, leaving) == {
        "a1": ANTI_AFFINITY_REASON,
        "a2": "ok",
        "b1": "ok",
        "c0": "ok",
    }


def test_anti_affinity_failure_is_resolvable_and_affinity_failure_is_not():
    plugin = InterPodAffinity()
    snap = cluster(DB_IN_A1)
    state, info = prefiltered(plugin, pod("w", affinity=anti(term("db"))), snap)
    assert plugin.filter(state, info, snap.nodes[0]).code is Code.UNSCHEDULABLE
    state, info = prefiltered(plugin, pod("w", affinity=affinity(term("db"))), snap)
    assert plugin.filter(state, info, snap.nodes[2]).code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def weighted(kind: str, w: int, t: dict[str, Any]) -> dict[str, Any]:
    return {
        kind: {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": w, "podAffinityTerm": t}]
        }
    }


@pytest.mark.parametrize(
    ("incoming", "placed", "expected"),
    [
        pytest.param(
            pod("web", affinity=weighted("podAffinity", 10, term("db"))),
            [DB_IN_A1],
            {"a1": 100, "a2": 100, "b1": 0, "c0": 0},
            id="preferred-affinity-favours-zone",
        ),
        pytest.param(
            pod("web", affinity=weighted("podAntiAffinity", 10, term("db"))),
            [DB_IN_A1],
            {"a1": 0, "a2": 0, "b1": 100, "c0": 100},
            id="preferred-anti-affinity-avoids-zone",
        ),
        pytest.param(
            pod("web", labels={"app": "web"}),
            [pod("cache", node_name="b1", affinity=weighted("podAffinity", 5, term("web")))],
            {"a1": 0, "a2": 0, "b1": 100, "c0": 0},
            id="existing-pods-preference-is-symmetric",
        ),
        pytest.param(pod("web"), [DB_IN_A1], {"a1": 0, "a2": 0, "b1": 0, "c0": 0}, id="no-terms"),
    ],
)
def test_inter_pod_affinity_score(incoming, placed, expected):
    assert score_all(InterPodAffinity(), incoming, cluster(*placed)) == expected


def test_scores_normalize_in_floating_point_as_kubernetes_does():
    prefers = {
        "podAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 29, "podAffinityTerm": term("db")},
                {"weight": 100, "podAffinityTerm": term("cache")},
            ]
        }
    }
    cache = pod("cache", labels={"app": "cache"}, node_name="b1")
    # Zone a's 29 of 100 is 28.999... in floating point, truncated to 28.
    assert score_all(
        InterPodAffinity(), pod("web", affinity=prefers), cluster(DB_IN_A1, cache)
    ) == {
        "a1": 28,
        "a2": 28,
        "b1": 100,
        "c0": 0,
    }


def test_info_of_placed_pod_is_what_the_plugin_sees():
    assert PodInfo.of(DB_IN_A1).key == "default/db"

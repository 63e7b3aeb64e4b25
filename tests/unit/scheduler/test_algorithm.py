"""One scheduling decision: bounded feasibility search, scoring, host selection, reasons."""

from __future__ import annotations

import random

import pytest

from master.scheduler.algorithm import (
    Algorithm,
    FitError,
    fit_error_message,
    num_feasible_nodes_to_find,
)
from master.scheduler.framework import PodInfo, Status
from tests.unit.scheduler.builders import node, node_info, pod, snapshot


@pytest.mark.parametrize(
    ("nodes", "percentage", "expected"),
    [
        pytest.param(50, 0, 50, id="small-cluster-all-nodes"),
        pytest.param(99, 0, 99, id="just-below-minimum-all-nodes"),
        pytest.param(100, 0, 100, id="hundred-nodes-at-least-hundred"),
        pytest.param(1000, 0, 420, id="thousand-nodes-adaptive-42-percent"),
        pytest.param(5000, 0, 500, id="five-thousand-nodes-adaptive-10-percent"),
        pytest.param(6000, 0, 300, id="six-thousand-floor-5-percent"),
        pytest.param(1000, 5, 100, id="explicit-percentage-keeps-minimum-100"),
        pytest.param(1000, 100, 1000, id="hundred-percent-all"),
    ],
)
def test_num_feasible_nodes_to_find_follows_kubernetes(nodes, percentage, expected):
    assert num_feasible_nodes_to_find(nodes, percentage) == expected


def test_the_failure_message_lists_counted_reasons_in_string_order_as_kube_scheduler():
    statuses = [
        Status.unschedulable("NodeResourcesFit", "Insufficient cpu"),
        Status.unresolvable("TaintToleration", "node(s) had untolerated taint {dedicated: gpu}"),
        Status.unschedulable("NodeResourcesFit", "Insufficient cpu"),
    ]
    assert fit_error_message(3, statuses) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "2 Insufficient cpu."
    )


def test_counted_reasons_sort_as_strings_so_ten_comes_before_two():
    statuses = [Status.unschedulable("NodeResourcesFit", "Insufficient cpu")] * 2 + [
        Status.unschedulable("NodePorts", "node(s) didn't have free ports")
    ] * 10
    assert fit_error_message(12, statuses) == (
        "0/12 nodes are available: 10 node(s) didn't have free ports, 2 Insufficient cpu."
    )


def test_a_pre_filter_rejection_is_said_once_not_counted_per_node():
    snap = snapshot(node_info(node("n1")), node_info(node("n2")))
    claimed = pod(
        "db",
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "missing"}}],
    )
    with pytest.raises(FitError) as err:
        Algorithm().schedule(PodInfo.of(claimed), snap)
    assert err.value.message == (
        '0/2 nodes are available: persistentvolumeclaim "missing" not found.'
    )


def test_a_pod_too_big_for_every_node_gets_a_fit_error_with_every_reason():
    snap = snapshot(
        node_info(node("n1", cpu="2")),
        node_info(node("n2", cpu="2")),
        node_info(
            node(
                "gpu",
                cpu="8",
                taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
            )
        ),
    )
    with pytest.raises(FitError) as err:
        Algorithm().schedule(PodInfo.of(pod("big", cpu="4")), snap)
    assert err.value.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "2 Insufficient cpu."
    )


def test_no_nodes_at_all_is_a_fit_error():
    with pytest.raises(FitError, match=r"^0/0 nodes are available\.$"):
        Algorithm().schedule(PodInfo.of(pod("p")), snapshot())


def test_the_only_feasible_node_is_chosen():
    snap = snapshot(node_info(node("small", cpu="1")), node_info(node("big", cpu="8")))
    assert Algorithm().schedule(PodInfo.of(pod("p", cpu="4")), snap).node == "big"


def test_the_emptier_node_wins_on_score():
    snap = snapshot(
        node_info(node("busy"), pod("e", cpu="3", memory="6Gi", node_name="busy")),
        node_info(node("idle")),
    )
    assert Algorithm().schedule(PodInfo.of(pod("p", cpu="1")), snap).node == "idle"


def test_ties_are_broken_at_random_over_every_equal_node():
    snap = snapshot(*(node_info(node(f"n{i}")) for i in range(4)))
    algo = Algorithm(rng=random.Random(7))
    chosen = {algo.schedule(PodInfo.of(pod("p")), snap).node for _ in range(200)}
    assert chosen == {"n0", "n1", "n2", "n3"}


def test_large_clusters_score_only_a_bounded_share_from_a_rotating_start():
    snap = snapshot(*(node_info(node(f"n{i:04}")) for i in range(1000)))
    algo = Algorithm()
    first = algo.schedule(PodInfo.of(pod("a")), snap)
    assert first.evaluated_nodes == 420
    assert algo.next_start_index == 420
    algo.schedule(PodInfo.of(pod("b")), snap)
    assert algo.next_start_index == 840


def test_a_profile_is_built_from_registered_plugins_by_name_and_an_unknown_one_is_named():
    import pytest

    from master.scheduler.algorithm import DEFAULT_PLUGINS, profile
    from master.scheduler.framework import registry

    assert set(DEFAULT_PLUGINS) == set(registry()), "every registered plugin is in the default"
    only = profile(["NodeName", "NodeResourcesLeastAllocated"])
    assert [p.name for p in only.filters] == ["NodeName"]
    assert [p.name for p in only.scores] == ["NodeResourcesLeastAllocated"]
    full = profile()
    affinity: object = next(p for p in full.filters if p.name == "NodeAffinity")
    stages: list[list[object]] = [list(full.pre_filters), list(full.scores)]
    shared = [any(p is affinity for p in stage) for stage in stages]
    assert all(shared), "one instance per plugin, in every stage it implements"
    with pytest.raises(ValueError, match="NodeNmae"):
        profile(["NodeNmae"])

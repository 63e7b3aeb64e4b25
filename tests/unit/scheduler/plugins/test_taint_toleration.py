"""TaintToleration: hard taints filter, PreferNoSchedule taints score."""

from __future__ import annotations

import pytest

from master.scheduler.framework import Code, CycleState, PodInfo
from master.scheduler.plugins.taint_toleration import TaintToleration
from tests.unit.scheduler.builders import node, node_info, pod

GPU = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("taints", "tolerations", "reason"),
    [
        pytest.param([], [], None, id="untainted-node"),
        pytest.param(
            [GPU], [], "node(s) had untolerated taint {dedicated: gpu}", id="noschedule-untolerated"
        ),
        pytest.param(
            [{**GPU, "effect": "NoExecute"}],
            [],
            "node(s) had untolerated taint {dedicated: gpu}",
            id="noexecute-untolerated",
        ),
        pytest.param(
            [{**GPU, "effect": "PreferNoSchedule"}], [], None, id="prefer-does-not-filter"
        ),
        pytest.param(
            [GPU], [{"key": "dedicated", "operator": "Equal", "value": "gpu"}], None, id="equal"
        ),
        pytest.param(
            [GPU],
            [{"key": "dedicated", "value": "gpu"}],
            None,
            id="operator-defaults-to-equal",
        ),
        pytest.param(
            [GPU],
            [{"key": "dedicated", "operator": "Equal", "value": "tpu"}],
            "node(s) had untolerated taint {dedicated: gpu}",
            id="equal-other-value",
        ),
        pytest.param([GPU], [{"key": "dedicated", "operator": "Exists"}], None, id="exists-key"),
        pytest.param([GPU], [{"operator": "Exists"}], None, id="exists-without-key-tolerates-all"),
        pytest.param(
            [GPU],
            [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}],
            "node(s) had untolerated taint {dedicated: gpu}",
            id="effect-must-match",
        ),
        pytest.param(
            [GPU, {"key": "x", "value": "", "effect": "NoSchedule"}],
            [{"key": "dedicated", "operator": "Exists"}],
            "node(s) had untolerated taint {x: }",
            id="every-hard-taint-must-be-tolerated",
        ),
    ],
)
def test_taint_toleration_filter(taints, tolerations, reason):
    st = TaintToleration().filter(
        CycleState(),
        PodInfo.of(pod("p", tolerations=tolerations)),
        node_info(node("n", taints=taints)),
    )
    if reason is None:
        assert st.ok
    else:
        assert st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert st.reasons == (reason,)


SOFT = {"key": "spot", "value": "true", "effect": "PreferNoSchedule"}


@pytest.mark.parametrize(
    ("tolerations", "expected"),
    [
        pytest.param([], {"clean": 100, "one": 50, "two": 0}, id="fewer-soft-taints-better"),
        pytest.param(
            [{"operator": "Exists", "effect": "PreferNoSchedule"}],
            {"clean": 100, "one": 100, "two": 100},
            id="tolerated-soft-taints-do-not-count",
        ),
        pytest.param(
            [{"operator": "Exists", "effect": "NoSchedule"}],
            {"clean": 100, "one": 50, "two": 0},
            id="noschedule-toleration-does-not-soften",
        ),
    ],
)
def test_taint_toleration_score(tolerations, expected):
    plugin = TaintToleration()
    p = PodInfo.of(pod("p", tolerations=tolerations))
    nodes = [
        node_info(node("clean")),
        node_info(node("one", taints=[SOFT])),
        node_info(node("two", taints=[SOFT, {**SOFT, "key": "old"}])),
    ]
    scores = {n.name: plugin.score(CycleState(), p, n) for n in nodes}
    plugin.normalize(CycleState(), p, scores)
    assert scores == expected

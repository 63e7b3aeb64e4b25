"""NodeAffinity: nodeSelector and required terms filter, preferred terms score."""

from __future__ import annotations

from typing import Any

import pytest

from master.scheduler.framework import Code, CycleState, PodInfo
from master.scheduler.plugins.node_affinity import NodeAffinity
from tests.unit.scheduler.builders import node, node_info, pod

LABELS = {"zone": "a", "disk": "ssd", "cores": "8"}


def required(*terms: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": exprs} for exprs in terms]
            }
        }
    }


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": op, "values": list(values)}


@pytest.mark.parametrize(
    ("spec", "fits"),
    [
        pytest.param({}, True, id="no-constraints"),
        pytest.param({"nodeSelector": {"zone": "a"}}, True, id="node-selector-matches"),
        pytest.param({"nodeSelector": {"zone": "b"}}, False, id="node-selector-other-value"),
        pytest.param({"nodeSelector": {"gpu": "yes"}}, False, id="node-selector-missing-label"),
        pytest.param({"affinity": required([expr("zone", "In", "a", "b")])}, True, id="in"),
        pytest.param({"affinity": required([expr("zone", "In", "b")])}, False, id="in-no-match"),
        pytest.param({"affinity": required([expr("zone", "NotIn", "b")])}, True, id="notin"),
        pytest.param({"affinity": required([expr("zone", "NotIn", "a")])}, False, id="notin-hit"),
        pytest.param(
            {"affinity": required([expr("gpu", "NotIn", "x")])}, True, id="notin-missing-label"
        ),
        pytest.param({"affinity": required([expr("disk", "Exists")])}, True, id="exists"),
        pytest.param({"affinity": required([expr("gpu", "Exists")])}, False, id="exists-missing"),
        pytest.param(
            {"affinity": required([expr("gpu", "DoesNotExist")])}, True, id="doesnotexist"
        ),
        pytest.param(
            {"affinity": required([expr("disk", "DoesNotExist")])}, False, id="doesnotexist-present"
        ),
        pytest.param({"affinity": required([expr("cores", "Gt", "4")])}, True, id="gt"),
        pytest.param({"affinity": required([expr("cores", "Gt", "8")])}, False, id="gt-equal"),
        pytest.param({"affinity": required([expr("cores", "Lt", "16")])}, True, id="lt"),
        pytest.param({"affinity": required([expr("zone", "Lt", "16")])}, False, id="lt-not-number"),
        pytest.param(
            {"affinity": required([expr("zone", "In", "b")], [expr("disk", "In", "ssd")])},
            True,
            id="terms-are-ored",
        ),
        pytest.param(
            {"affinity": required([expr("zone", "In", "a"), expr("disk", "In", "hdd")])},
            False,
            id="expressions-are-anded",
        ),
        pytest.param(
            {"nodeSelector": {"zone": "a"}, "affinity": required([expr("disk", "In", "hdd")])},
            False,
            id="selector-and-affinity-both-needed",
        ),
        pytest.param(
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchFields": [expr("metadata.name", "In", "n")]}
                            ]
                        }
                    }
                }
            },
            True,
            id="match-fields-on-name",
        ),
    ],
)
def test_node_affinity_filter(spec, fits):
    st = NodeAffinity().filter(
        CycleState(), PodInfo.of(pod("p", **spec)), node_info(node("n", labels=LABELS))
    )
    if fits:
        assert st.ok
    else:
        assert st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert st.reasons == ("node(s) didn't match Pod's node affinity/selector",)


def preferred(*weighted: tuple[int, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": w, "preference": {"matchExpressions": exprs}} for w, exprs in weighted
            ]
        }
    }


@pytest.mark.parametrize(
    ("weighted", "expected"),
    [
        pytest.param([], {"a": 0, "b": 0}, id="no-preferences-all-zero"),
        pytest.param([(10, [expr("zone", "In", "a")])], {"a": 100, "b": 0}, id="one-term"),
        pytest.param(
            [(10, [expr("zone", "In", "a")]), (30, [expr("zone", "In", "b")])],
            {"a": 33, "b": 100},
            id="heavier-term-wins",
        ),
        pytest.param(
            [(10, [expr("disk", "Exists")]), (10, [expr("zone", "In", "a")])],
            {"a": 100, "b": 50},
            id="weights-add-up",
        ),
    ],
)
def test_node_affinity_score(weighted, expected):
    plugin = NodeAffinity()
    p = PodInfo.of(pod("p", affinity=preferred(*weighted)))
    nodes = [
        node_info(node("a", labels={"zone": "a", "disk": "ssd"})),
        node_info(node("b", labels={"zone": "b", "disk": "ssd"})),
    ]
    scores = {n.name: plugin.score(CycleState(), p, n) for n in nodes}
    plugin.normalize(CycleState(), p, scores)
    assert scores == expected

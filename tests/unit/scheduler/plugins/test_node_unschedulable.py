"""NodeUnschedulable: cordoned nodes take only pods that tolerate the cordon."""

from __future__ import annotations

import pytest

from master.scheduler.framework import Code, CycleState, PodInfo
from master.scheduler.plugins.node_unschedulable import NodeUnschedulable
from tests.unit.scheduler.builders import node, node_info, pod

CORDON_TOLERATION = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}


@pytest.mark.parametrize(
    ("cordoned", "tolerations", "code"),
    [
        pytest.param(False, [], Code.SUCCESS, id="schedulable-node-fits"),
        pytest.param(True, [], Code.UNSCHEDULABLE_AND_UNRESOLVABLE, id="cordoned-node-refuses"),
        pytest.param(True, [CORDON_TOLERATION], Code.SUCCESS, id="cordon-tolerated"),
        pytest.param(
            True, [{"operator": "Exists"}], Code.SUCCESS, id="tolerate-everything-passes-cordon"
        ),
        pytest.param(
            True,
            [
                {
                    "key": "node.kubernetes.io/unschedulable",
                    "operator": "Exists",
                    "effect": "NoExecute",
                }
            ],
            Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
            id="wrong-effect-does-not-tolerate",
        ),
    ],
)
def test_node_unschedulable(cordoned, tolerations, code):
    st = NodeUnschedulable().filter(
        CycleState(),
        PodInfo.of(pod("p", tolerations=tolerations)),
        node_info(node("n", unschedulable=cordoned)),
    )
    assert st.code is code
    if code is not Code.SUCCESS:
        assert st.reasons == ("node(s) were unschedulable",)

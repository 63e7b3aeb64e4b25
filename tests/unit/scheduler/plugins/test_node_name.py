"""NodeName: a pod naming a node fits only there."""

from __future__ import annotations

import pytest

from master.scheduler.framework import Code, CycleState, PodInfo
from master.scheduler.plugins.node_name import NodeName
from tests.unit.scheduler.builders import node, node_info, pod


@pytest.mark.parametrize(
    ("wanted", "code"),
    [
        pytest.param("", Code.SUCCESS, id="no-node-name-fits-anywhere"),
        pytest.param("n1", Code.SUCCESS, id="named-node-fits"),
        pytest.param("n2", Code.UNSCHEDULABLE_AND_UNRESOLVABLE, id="other-node-refused"),
    ],
)
def test_node_name(wanted, code):
    st = NodeName().filter(
        CycleState(), PodInfo.of(pod("p", node_name=wanted)), node_info(node("n1"))
    )
    assert st.code is code
    if code is not Code.SUCCESS:
        assert st.reasons == ("node(s) didn't match the requested node name",)

"""NodePorts: hostPort clashes on one node."""

from __future__ import annotations

import pytest

from master.scheduler.framework import Code, CycleState, PodInfo
from master.scheduler.plugins.node_ports import NodePorts
from proto import core_pb2
from tests.unit.scheduler.builders import node, node_info, pod


def port_pod(name: str, port: int, *, protocol: str = "TCP", ip: str = "") -> core_pb2.Pod:
    p = pod(name)
    p.spec.containers[0].ports.add(
        container_port=port, host_port=port, protocol=protocol, host_ip=ip
    )
    return p


@pytest.mark.parametrize(
    ("existing", "incoming", "code"),
    [
        pytest.param([], port_pod("p", 80), Code.SUCCESS, id="free-port"),
        pytest.param([port_pod("e", 80)], port_pod("p", 80), Code.UNSCHEDULABLE, id="same-port"),
        pytest.param([port_pod("e", 80)], port_pod("p", 81), Code.SUCCESS, id="other-port"),
        pytest.param(
            [port_pod("e", 53, protocol="UDP")],
            port_pod("p", 53),
            Code.SUCCESS,
            id="same-port-other-protocol",
        ),
        pytest.param(
            [port_pod("e", 80, ip="127.0.0.2")],
            port_pod("p", 80, ip="127.0.0.3"),
            Code.SUCCESS,
            id="same-port-distinct-ips",
        ),
        pytest.param(
            [port_pod("e", 80, ip="127.0.0.2")],
            port_pod("p", 80),
            Code.UNSCHEDULABLE,
            id="wildcard-ip-clashes-with-specific",
        ),
        pytest.param([port_pod("e", 80)], pod("p"), Code.SUCCESS, id="pod-without-host-ports"),
    ],
)
def test_node_ports(existing, incoming, code):
    st = NodePorts().filter(CycleState(), PodInfo.of(incoming), node_info(node("n"), *existing))
    assert st.code is code
    if code is not Code.SUCCESS:
        assert st.reasons == ("node(s) didn't have free ports for the requested pod ports",)

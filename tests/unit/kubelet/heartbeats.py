"""The node heartbeat under test, built one way for every test of it: node n1 on a fixed
machine, over whichever stand-in for the API client the test gives. Kept here so that
the four files testing the heartbeat do not each declare the same machine."""

from __future__ import annotations

from typing import Any

from kubelet.node import NodeHeartbeat, NodeSettings
from kubelet.runtime.interface import VersionInfo

MACHINE = VersionInfo("docker://27", "linux", "x86_64", "6.1", "Debian", 2000, 4 << 30)


def heartbeat(api: Any, nodes: Any = None) -> NodeHeartbeat:
    """Node n1's heartbeat over `api`; `nodes` stands for the informer simulated nodes
    share."""
    settings = NodeSettings(name="n1", address="127.0.0.2", port=1)
    return NodeHeartbeat(api, settings, MACHINE, nodes=nodes)

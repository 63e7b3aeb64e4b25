"""A sandbox waits for its node's proxy to put the cluster DNS address on the host."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet.network.bridge import BridgeSettings, DockerBridge, NetworkError

NOT_HERE = "10.255.255.1"
"""An address no interface of a test machine carries."""


async def _never(operation: str, fn: Any, *args: Any, **kw: Any) -> Any:
    raise AssertionError("no engine call is expected")


def bridge(cluster_dns: str, wait: float) -> DockerBridge:
    settings = BridgeSettings(cluster_dns=cluster_dns, cluster_dns_wait=wait)
    return DockerBridge(None, _never, "n1", settings, {})


def test_a_cluster_first_sandbox_waits_while_the_dns_address_is_not_on_the_host() -> None:
    with pytest.raises(NetworkError, match=f"cluster DNS address {NOT_HERE} is not on this"):
        bridge(NOT_HERE, 60.0)._check_cluster_dns("ClusterFirst")


def test_without_a_wait_or_once_the_address_is_here_nothing_waits() -> None:
    bridge(NOT_HERE, 0.0)._check_cluster_dns("ClusterFirst")
    bridge("127.0.0.1", 60.0)._check_cluster_dns("ClusterFirst")


def test_dns_policy_default_never_waits_for_the_cluster_dns() -> None:
    bridge(NOT_HERE, 60.0)._check_cluster_dns("Default")

"""The kubelets' pod bridge network on the host's Docker engine, as the test session sees it.

Kubelets create the bridge on first use and never remove it, as a node keeps its network
between pods. The session removes it only when the session created it, it still carries
the kubelet's label, and no container is on it, so a cluster running beside the tests
(`make demo`) keeps its network.
"""

from __future__ import annotations

import docker

from kubelet.network.bridge import NETWORK, remove_if_unused


def exists() -> bool:
    """Whether the engine has the pod bridge now (False when there is no engine)."""
    try:
        client = docker.from_env()
    except docker.errors.DockerException:
        return False
    try:
        # Docker's name filter also matches tugboat-pn-… and other tests' networks.
        return any(n.name == NETWORK for n in client.networks.list(names=[NETWORK]))
    except docker.errors.DockerException:
        return False
    finally:
        client.close()


def remove_if_empty() -> None:
    """Remove the pod bridge if it is the kubelet's and no container is attached."""
    remove_if_unused(NETWORK)

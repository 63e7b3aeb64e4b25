"""`tug down` leaves no pod bridge behind: once a node's containers are removed, the
kubelet removes the bridge if it made it and no other container is on it, on the real
Docker engine. Each test uses a network of its own name, never the kubelets' `tugboat`."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import docker
import pytest

from kubelet import main as kubelet_main
from kubelet.network.bridge import NETWORK_LABEL, remove_if_unused

pytestmark = pytest.mark.docker


@pytest.fixture
def engine() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def name(engine: docker.DockerClient) -> Iterator[str]:
    """A network name of this test's own, removed at the end whatever happened."""
    made = f"tugboat-test-{secrets.token_hex(4)}"
    try:
        yield made
    finally:
        for container in engine.containers.list(all=True, filters={"label": f"test={made}"}):
            container.remove(force=True)
        for network in engine.networks.list(names=[made]):
            if network.name == made:
                network.remove()


def present(engine: docker.DockerClient, name: str) -> bool:
    return any(n.name == name for n in engine.networks.list(names=[name]))


def test_an_empty_bridge_the_kubelet_made_is_removed(engine, name):
    engine.networks.create(name, driver="bridge", labels={NETWORK_LABEL: "pods"})
    assert remove_if_unused(name)
    assert not present(engine, name)


def test_a_bridge_another_nodes_container_is_on_stays(engine, name):
    network = engine.networks.create(name, driver="bridge", labels={NETWORK_LABEL: "pods"})
    container = engine.containers.create(
        "tugboat/pause:1", labels={"test": name}, network=network.name
    )
    container.start()
    assert not remove_if_unused(name)
    assert present(engine, name)


def test_a_network_of_that_name_the_kubelet_did_not_make_stays(engine, name):
    engine.networks.create(name, driver="bridge")
    assert not remove_if_unused(name)
    assert present(engine, name)


def test_a_bridge_already_gone_is_no_error(name):
    assert not remove_if_unused(name)


def recorded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bridges the kubelet asks to remove from now on (none is removed)."""
    removed: list[str] = []

    def remove(name: str = "tugboat") -> bool:
        removed.append(name)
        return False

    monkeypatch.setattr("kubelet.network.bridge.remove_if_unused", remove)
    return removed


async def test_removing_a_docker_nodes_containers_removes_the_unused_bridge(monkeypatch, tmp_path):
    removed = recorded(monkeypatch)
    opts = kubelet_main.parse_args(
        ["--node-name", "gone", "--remove-containers", "--root-dir", str(tmp_path)]
    )
    await kubelet_main.remove_containers(opts)
    assert removed == ["tugboat"]


async def test_removing_simulated_nodes_leaves_the_engine_alone(monkeypatch, tmp_path):
    removed = recorded(monkeypatch)
    opts = kubelet_main.parse_args(
        [
            *("--node-name", "gone", "--remove-containers", "--runtime", "fake"),
            *("--root-dir", str(tmp_path)),
        ]
    )
    await kubelet_main.remove_containers(opts)
    assert removed == []

"""`tug down` leaves no empty pod bridge: `tug-kubelet --remove-containers` removes its
nodes' containers, then the bridge, if the kubelet made it and no container is left on it.

On the real Docker engine. Each test's bridge has a name of its own (`tugboat-rm-<id>`,
passed as `bridge=`), never the kubelets' `tugboat`, which other tests' kubelets use at
the same time; its containers carry node names of their own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from kubelet import main as kubelet_main
from kubelet.network.bridge import NETWORK_LABEL, remove_if_unused
from kubelet.runtime.docker import PAUSE_IMAGE
from kubelet.runtime.interface import LABEL_KIND, LABEL_NODE
from tests.integration.kubelet.conftest import remove_node_containers

pytestmark = pytest.mark.docker

POD_BRIDGE = {NETWORK_LABEL: "pods"}
"""The label the kubelet gives the bridge it makes."""


@pytest.fixture
def engine() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def bridge(engine: docker.DockerClient) -> Iterator[str]:
    """A bridge name of the test's own; the networks of that name and every container on
    them are removed afterwards, whatever happened."""
    name = f"tugboat-rm-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        for row in engine.api.networks(names=[name]):
            if row.get("Name") != name:
                continue  # Docker's filter matches names that merely contain it
            attached = engine.api.inspect_network(row["Id"]).get("Containers") or {}
            for container_id in attached:
                try:
                    engine.api.remove_container(container_id, force=True)
                except docker.errors.NotFound:
                    pass
            try:
                engine.api.remove_network(row["Id"])
            except docker.errors.NotFound:
                pass


@pytest.fixture
def nodes() -> Iterator[list[str]]:
    """Node names of the test's own (`nodes.append(...)`); their containers are removed
    afterwards."""
    made: list[str] = []
    try:
        yield made
    finally:
        for node in made:
            remove_node_containers(node)


def new_node(nodes: list[str]) -> str:
    name = f"rm-{uuid.uuid4().hex[:8]}"
    nodes.append(name)
    return name


def sandbox_on(engine: docker.DockerClient, bridge: str, node: str) -> str:
    """Start a pause container of `node` on the bridge, as a pod sandbox is; its id."""
    container = engine.containers.run(
        PAUSE_IMAGE,
        detach=True,
        network=bridge,
        labels={LABEL_NODE: node, LABEL_KIND: "sandbox"},
    )
    return str(container.id)


def present(engine: docker.DockerClient, name: str) -> bool:
    return any(row.get("Name") == name for row in engine.api.networks(names=[name]))


def containers_of(engine: docker.DockerClient, node: str) -> list[str]:
    rows = engine.api.containers(all=True, filters={"label": [f"{LABEL_NODE}={node}"]})
    return [str(row["Id"]) for row in rows]


async def remove(node: str, root: Path, bridge: str, *flags: str) -> None:
    """What `tug down` runs for one node: tug-kubelet --node-name N --remove-containers."""
    argv = ["--node-name", node, "--remove-containers", "--root-dir", str(root), *flags]
    await kubelet_main.remove_containers(kubelet_main.parse_args(argv), bridge=bridge)


async def test_removing_the_last_nodes_containers_removes_the_bridge_they_leave_empty(
    engine: docker.DockerClient, bridge: str, nodes: list[str], tmp_path: Path
) -> None:
    engine.networks.create(bridge, driver="bridge", labels=POD_BRIDGE)
    node = new_node(nodes)
    sandbox_on(engine, bridge, node)

    await remove(node, tmp_path, bridge)

    assert containers_of(engine, node) == []
    assert not present(engine, bridge)


async def test_a_bridge_another_nodes_container_is_still_on_stays(
    engine: docker.DockerClient, bridge: str, nodes: list[str], tmp_path: Path
) -> None:
    engine.networks.create(bridge, driver="bridge", labels=POD_BRIDGE)
    leaving, staying = new_node(nodes), new_node(nodes)
    sandbox_on(engine, bridge, leaving)
    kept = sandbox_on(engine, bridge, staying)

    await remove(leaving, tmp_path, bridge)

    assert present(engine, bridge)
    assert containers_of(engine, staying) == [kept]


async def test_a_network_of_that_name_the_kubelet_did_not_make_stays_even_when_empty(
    engine: docker.DockerClient, bridge: str, nodes: list[str], tmp_path: Path
) -> None:
    engine.networks.create(bridge, driver="bridge")

    await remove(new_node(nodes), tmp_path, bridge)

    assert present(engine, bridge)


async def test_a_bridge_already_gone_is_no_error(
    bridge: str, nodes: list[str], tmp_path: Path
) -> None:
    await remove(new_node(nodes), tmp_path, bridge)


async def test_nodes_removed_in_parallel_remove_the_bridge_once_and_none_fails(
    engine: docker.DockerClient, bridge: str, nodes: list[str], tmp_path: Path
) -> None:
    engine.networks.create(bridge, driver="bridge", labels=POD_BRIDGE)
    names = [new_node(nodes) for _ in range(3)]
    for node in names:
        sandbox_on(engine, bridge, node)

    # As `tug down` runs them: side by side, so some find others' containers still on
    # the bridge and the last one removes it.
    await asyncio.gather(*(remove(node, tmp_path / node, bridge) for node in names))

    assert not present(engine, bridge)


async def test_of_two_removals_of_one_empty_bridge_at_once_one_removes_it_the_other_is_quiet(
    engine: docker.DockerClient, bridge: str
) -> None:
    engine.networks.create(bridge, driver="bridge", labels=POD_BRIDGE)

    removed = await asyncio.gather(
        asyncio.to_thread(remove_if_unused, bridge),
        asyncio.to_thread(remove_if_unused, bridge),
    )

    assert sorted(removed) == [False, True]
    assert not present(engine, bridge)


async def test_removing_simulated_nodes_leaves_the_engine_alone(
    engine: docker.DockerClient, bridge: str, nodes: list[str], tmp_path: Path
) -> None:
    engine.networks.create(bridge, driver="bridge", labels=POD_BRIDGE)

    await remove(new_node(nodes), tmp_path, bridge, "--runtime", "fake")

    assert present(engine, bridge)

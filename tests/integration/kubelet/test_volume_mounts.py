"""How a volume is mounted, on the real Docker engine: one volume at several paths, each
read-only or not; subPathExpr expanded from the container's environment; mounts made on
the host later reaching the container with mountPropagation HostToContainer and not
without it; recursiveReadOnly Enabled refused with the reason, since this engine cannot;
the host's root at /host, as `kubectl debug node/...` mounts it."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from proto import core_pb2
from tests.integration.kubelet.pods import container, container_id, pod, running, wait_for_pod
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker


@pytest.fixture
def shared_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory that is a shared mount of its own: Docker binds below it may be
    slaves (this host's / is private, so HostToContainer is refused elsewhere)."""
    top = tmp_path / "shared"
    top.mkdir()
    subprocess.run(["mount", "--bind", str(top), str(top)], check=True)
    mounted = [top]
    try:
        subprocess.run(["mount", "--make-rshared", str(top)], check=True)
        yield top
    finally:
        # Anything the test mounted below first, then the bind itself.
        for path in sorted(top.glob("*/late"), reverse=True):
            subprocess.run(["umount", "-l", str(path)], check=False)
        for path in mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


async def _read(box: Any, path: str) -> tuple[int, bytes]:
    code, out = await asyncio.to_thread(box.exec_run, ["cat", path])
    return code, out


async def test_one_volume_at_several_paths_with_its_own_modes_and_an_expanded_sub_path(
    api, kubelet, node_name, tmp_path
):
    data = tmp_path / "data"
    c = container(
        "main",
        "sleep",
        "3600",
        volume_mounts=[
            core_pb2.VolumeMount(name="data", mount_path="/ro", read_only=True),
            core_pb2.VolumeMount(name="data", mount_path="/rw"),
            core_pb2.VolumeMount(name="data", mount_path="/mine", sub_path_expr="by/$(ME)"),
        ],
    )
    c.env.add(name="ME", value="main-container")
    p = pod("mounts", node_name, c)
    host = p.spec.volumes.add(name="data").host_path
    host.path, host.type = str(data), "DirectoryOrCreate"
    await api.create(p)
    p = await wait_for_pod(api, "mounts", running)
    box = await asyncio.to_thread(docker.from_env().containers.get, container_id(p, "main"))
    code, _ = await asyncio.to_thread(box.exec_run, ["sh", "-c", "echo hi > /rw/file"])
    assert code == 0
    assert await _read(box, "/ro/file") == (0, b"hi\n")
    code, _ = await asyncio.to_thread(box.exec_run, ["sh", "-c", "echo no > /ro/file"])
    assert code != 0, "the read-only path of the same volume refuses writes"
    code, _ = await asyncio.to_thread(box.exec_run, ["sh", "-c", "echo me > /mine/file"])
    assert code == 0
    assert (data / "by" / "main-container" / "file").read_text() == "me\n"


async def test_a_mount_made_on_the_host_later_reaches_only_the_host_to_container_mount(
    api, kubelet, node_name, shared_dir
):
    mounts = [
        core_pb2.VolumeMount(name="host", mount_path="/slave", mount_propagation="HostToContainer"),
        core_pb2.VolumeMount(name="host", mount_path="/private"),
    ]
    p = pod("propagation", node_name, container("main", "sleep", "3600", volume_mounts=mounts))
    volume = p.spec.volumes.add(name="host").host_path
    volume.path, volume.type = str(shared_dir / "vol"), "DirectoryOrCreate"
    await api.create(p)
    p = await wait_for_pod(api, "propagation", running)
    box = await asyncio.to_thread(docker.from_env().containers.get, container_id(p, "main"))
    late = shared_dir / "vol" / "late"
    late.mkdir()
    await asyncio.to_thread(
        subprocess.run, ["mount", "-t", "tmpfs", "tmpfs", str(late)], check=True
    )
    (late / "marker").write_text("mounted later\n")

    async def seen() -> bool:
        return await _read(box, "/slave/late/marker") == (0, b"mounted later\n")

    await eventually(seen, timeout=10, what="the host's new mount inside the container")
    code, _ = await _read(box, "/private/late/marker")
    assert code != 0, "a private mount does not see mounts made after it"


async def test_recursive_read_only_enabled_is_refused_with_the_reason(api, kubelet, node_name):
    mount = core_pb2.VolumeMount(
        name="data", mount_path="/data", read_only=True, recursive_read_only="Enabled"
    )
    p = pod("rro", node_name, container("main", "sleep", "3600", volume_mounts=[mount]))
    p.spec.volumes.add(name="data").empty_dir.SetInParent()
    await api.create(p)

    def refused(found: core_pb2.Pod) -> bool:
        statuses = found.status.container_statuses
        return bool(statuses) and statuses[0].state.waiting.reason == "CreateContainerConfigError"

    found = await wait_for_pod(api, "rro", refused)
    message = found.status.container_statuses[0].state.waiting.message
    assert "recursiveReadOnly: Enabled is not supported by the container runtime" in message


async def test_the_hosts_root_mounts_as_kubectl_debug_node_mounts_it(api, kubelet, node_name):
    # kubectl debug node/NAME mounts hostPath / at /host with no propagation: Docker
    # refused the explicit rprivate bind of a source that holds its own root.
    c = container("debugger", "sleep", "3600")
    c.volume_mounts.add(name="host-root", mount_path="/host")
    p = pod("host-root", node_name, c)
    p.spec.volumes.add(name="host-root").host_path.path = "/"
    await api.create(p)
    p = await wait_for_pod(api, "host-root", running)
    box = await asyncio.to_thread(docker.from_env().containers.get, container_id(p, "debugger"))
    hostname = await asyncio.to_thread(Path("/etc/hostname").read_bytes)
    assert await _read(box, "/host/etc/hostname") == (0, hostname)

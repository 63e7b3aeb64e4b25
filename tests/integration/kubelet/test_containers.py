"""Container details: init containers in order, mounts, security context and limits, GC."""

from __future__ import annotations

import asyncio

import docker
import pytest

from kubelet.runtime.interface import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_KIND,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
)
from proto import core_pb2
from tests.integration.kubelet.pods import container, container_id, pod, running, wait_for_pod
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker


async def test_init_containers_run_in_order_before_the_app_containers(
    api, kubelet, node_name, tmp_path
):
    host_dir = tmp_path / "shared"
    inits = [
        container(
            f"init-{i}",
            "sh",
            "-c",
            f"echo {i} >> /work/order",
            volume_mounts=[core_pb2.VolumeMount(name="work", mount_path="/work")],
        )
        for i in range(2)
    ]
    app = container(
        "main",
        "sh",
        "-c",
        "cat /work/order > /out/seen; exec sleep 3600",
        volume_mounts=[
            core_pb2.VolumeMount(name="work", mount_path="/work"),
            core_pb2.VolumeMount(name="out", mount_path="/out"),
        ],
    )
    p = pod("inits", node_name, app)
    p.spec.init_containers.extend(inits)
    p.spec.volumes.add(name="work").empty_dir.SetInParent()
    host = p.spec.volumes.add(name="out").host_path
    host.path, host.type = str(host_dir), "DirectoryOrCreate"
    await api.create(p)
    p = await wait_for_pod(api, "inits", running)
    assert [s.state.terminated.exit_code for s in p.status.init_container_statuses] == [0, 0]
    assert {c.type: c.status for c in p.status.conditions}["Initialized"] == "True"
    await eventually(lambda: (host_dir / "seen").exists(), what="the app's output")
    assert (host_dir / "seen").read_text() == "0\n1\n"


async def test_limits_security_context_sub_path_and_labels_reach_docker(api, kubelet, node_name):
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap", data={"one": "1", "two": "2"})
    cm.metadata.name, cm.metadata.namespace = "files", "default"
    await api.create(cm)
    c = container("main", "sleep", "3600")
    c.resources.limits["cpu"] = "500m"
    c.resources.limits["memory"] = "64Mi"
    c.security_context.run_as_user = 65534
    c.security_context.read_only_root_filesystem = True
    c.volume_mounts.add(name="files", mount_path="/etc/one", sub_path="one")
    p = pod("tight", node_name, c)
    p.spec.volumes.add(name="files").config_map.name = "files"
    await api.create(p)
    p = await wait_for_pod(api, "tight", running)
    box = await asyncio.to_thread(docker.from_env().containers.get, container_id(p, "main"))
    host = box.attrs["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["ReadonlyRootfs"] is True
    assert box.attrs["Config"]["User"] == "65534"
    assert host["NetworkMode"].startswith("container:")
    labels = box.labels
    assert labels[LABEL_POD_UID] == p.metadata.uid
    assert (labels[LABEL_POD_NAME], labels[LABEL_POD_NAMESPACE]) == ("tight", "default")
    assert (labels[LABEL_CONTAINER_NAME], labels[LABEL_ATTEMPT]) == ("main", "0")
    assert (labels[LABEL_NODE], labels[LABEL_KIND]) == (node_name, "app")
    code, out = await asyncio.to_thread(box.exec_run, ["cat", "/etc/one"])
    assert (code, out) == (0, b"1")
    code, out = await asyncio.to_thread(box.exec_run, ["id", "-u"])
    assert out == b"65534\n"


async def test_containers_of_pods_that_no_longer_exist_are_removed(api, kubelet, node_name):
    client = docker.from_env()
    stray = await asyncio.to_thread(
        client.containers.run,
        "busybox:1.35",
        ["sleep", "3600"],
        detach=True,
        labels={
            LABEL_NODE: node_name,
            LABEL_POD_UID: "gone-uid",
            LABEL_POD_NAME: "ghost",
            LABEL_POD_NAMESPACE: "default",
            LABEL_CONTAINER_NAME: "main",
            LABEL_KIND: "app",
            LABEL_ATTEMPT: "0",
        },
    )
    other = await asyncio.to_thread(
        client.containers.run,
        "busybox:1.35",
        ["sleep", "3600"],
        detach=True,
        labels={LABEL_NODE: f"{node_name}-other", LABEL_POD_UID: "x"},
    )
    try:

        async def stray_gone() -> bool:
            found = await asyncio.to_thread(
                client.api.containers, all=True, filters={"id": stray.id}
            )
            return not found

        await eventually(stray_gone, timeout=20, what="the orphan container removed")
        await asyncio.to_thread(other.reload)
        assert other.status == "running", "another node's containers are never touched"
    finally:
        await asyncio.to_thread(other.remove, force=True)

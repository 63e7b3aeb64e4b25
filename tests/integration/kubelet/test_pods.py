"""Pods run as Docker containers: shared network namespace, env, volumes, deletion."""

from __future__ import annotations

import asyncio
import time

import docker
import pytest
from prometheus_client import REGISTRY

from kubelet.runtime.interface import LABEL_NODE
from proto import core_pb2
from tests.integration.kubelet.pods import (
    container,
    container_id,
    get_pod,
    pod,
    running,
    status_of,
    wait_for_pod,
    wait_gone,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker


async def test_two_containers_share_the_pods_network_namespace(api, kubelet, node_name):
    web = container(
        "web", "sh", "-c", "echo hello-from-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"
    )
    fetch = container(
        "fetch",
        "sh",
        "-c",
        "until wget -q -O - http://localhost:8080/; do sleep 0.2; done; exec sleep 3600",
    )
    await api.create(pod("net", node_name, web, fetch))
    p = await wait_for_pod(api, "net", running, what="both containers running")
    assert p.status.pod_ip and p.status.host_ip == "127.0.0.1"
    assert p.status.start_time
    assert {c.type: c.status for c in p.status.conditions}["Ready"] == "True"
    client = docker.from_env()
    fetcher = await asyncio.to_thread(client.containers.get, container_id(p, "fetch"))

    async def fetched() -> bool:
        return b"hello-from-web" in await asyncio.to_thread(fetcher.logs)

    await eventually(fetched, what="the fetcher to get the page")
    sandboxes = await asyncio.to_thread(
        client.api.containers,
        filters={"label": [f"{LABEL_NODE}={node_name}", "io.tugboat.kind=sandbox"]},
    )
    assert len(sandboxes) == 1
    samples = {
        name: REGISTRY.get_sample_value(name, labels)
        for name, labels in [
            ("kubelet_pod_start_duration_seconds_count", {}),
            (
                "kubelet_runtime_operations_duration_seconds_count",
                {"operation_type": "start_container"},
            ),
            ("kubelet_running_containers", {"container_state": "running"}),
            ("kubelet_pleg_relist_duration_seconds_count", {}),
        ]
    }
    assert all(v and v >= 1 for v in samples.values()), samples


async def test_deleting_a_pod_stops_its_containers_within_the_grace_period(api, kubelet, node_name):
    # sh as PID 1 ignores SIGTERM without a trap: the kubelet must SIGKILL after the grace.
    await api.create(pod("doomed", node_name, container("main", "sleep", "3600"), grace=2))
    await wait_for_pod(api, "doomed", running)
    started = time.monotonic()
    await api.delete("pods", "default", "doomed")
    await wait_gone(api, "doomed", timeout=20)
    elapsed = time.monotonic() - started
    print(f"deletion took {elapsed:.1f}s (grace 2s)")
    client = docker.from_env()
    left = await asyncio.to_thread(
        client.api.containers, all=True, filters={"label": [f"{LABEL_NODE}={node_name}"]}
    )
    assert left == []


async def test_env_comes_from_configmaps_secrets_and_fields(api, kubelet, node_name):
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap", data={"color": "blue", "size": "L"})
    cm.metadata.name, cm.metadata.namespace = "settings", "default"
    secret = core_pb2.Secret(api_version="v1", kind="Secret", data={"token": b"s3cr3t"})
    secret.metadata.name, secret.metadata.namespace = "creds", "default"
    await api.create(cm)
    await api.create(secret)
    c = container("main", "sh", "-c", "env; sleep 3600")
    c.env.add(name="COLOR").value_from.config_map_key_ref.CopyFrom(
        core_pb2.ConfigMapKeySelector(name="settings", key="color")
    )
    c.env.add(name="TOKEN").value_from.secret_key_ref.CopyFrom(
        core_pb2.SecretKeySelector(name="creds", key="token")
    )
    c.env.add(name="MY_POD").value_from.field_ref.field_path = "metadata.name"
    c.env.add(name="MY_IP").value_from.field_ref.field_path = "status.podIP"
    c.env.add(name="GREETING", value="hi $(MY_POD)")
    ef = c.env_from.add(prefix="CFG_")
    ef.config_map_ref.name = "settings"
    await api.create(pod("envy", node_name, c))
    p = await wait_for_pod(api, "envy", running)
    cid = container_id(p, "main")
    client = docker.from_env()

    async def env_output() -> str:
        box = await asyncio.to_thread(client.containers.get, cid)
        return bytes(await asyncio.to_thread(box.logs)).decode()

    async def printed() -> bool:
        return "MY_IP" in await env_output()

    await eventually(printed, what="env printed")
    out = await env_output()
    assert "COLOR=blue" in out
    assert "TOKEN=s3cr3t" in out
    assert "MY_POD=envy" in out
    assert f"MY_IP={p.status.pod_ip}" in out
    assert "GREETING=hi envy" in out
    assert "CFG_size=L" in out


async def test_a_configmap_volume_follows_changes_to_the_configmap(api, kubelet, node_name):
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap", data={"app.conf": "v1"})
    cm.metadata.name, cm.metadata.namespace = "conf", "default"
    await api.create(cm)
    c = container("main", "sleep", "3600")
    c.volume_mounts.add(name="conf", mount_path="/etc/app", read_only=True)
    c.volume_mounts.add(name="scratch", mount_path="/scratch")
    p = pod("vols", node_name, c)
    p.spec.volumes.add(name="conf").config_map.name = "conf"
    p.spec.volumes.add(name="scratch").empty_dir.SetInParent()
    await api.create(p)
    p = await wait_for_pod(api, "vols", running)
    cid = container_id(p, "main")
    box = await asyncio.to_thread(docker.from_env().containers.get, cid)

    async def read_conf() -> str:
        code, out = await asyncio.to_thread(box.exec_run, ["cat", "/etc/app/app.conf"])
        return out.decode() if code == 0 and isinstance(out, bytes) else ""

    assert await read_conf() == "v1"
    code, _ = await asyncio.to_thread(box.exec_run, ["sh", "-c", "echo x > /etc/app/new"])
    assert code != 0, "a readOnly mount must refuse writes"
    code, _ = await asyncio.to_thread(box.exec_run, ["sh", "-c", "echo x > /scratch/new"])
    assert code == 0
    current = await api.get("configmaps", "default", "conf")
    current.data["app.conf"] = "v2"
    await api.update(current)

    async def changed() -> bool:
        return await read_conf() == "v2"

    await eventually(changed, timeout=30, what="the file to change")
    await api.delete("pods", "default", "vols")
    await wait_gone(api, "vols")
    assert not (kubelet.config.root_dir / "pods" / p.metadata.uid).exists()


async def test_a_missing_image_shows_image_pull_backoff_with_an_event(api, kubelet, node_name):
    await api.create(pod("noimg", node_name, container("main", image="tugboat/no-such-image:1")))
    p = await wait_for_pod(
        api,
        "noimg",
        lambda p: (
            (s := status_of(p, "main")) is not None and s.state.waiting.reason == "ImagePullBackOff"
        ),
        what="ImagePullBackOff",
    )
    assert p.status.phase == "Pending"

    async def pull_event():
        events = await api.list("events", "default")
        return any(
            e.involved_object.name == "noimg" and e.reason == "Failed" and "pull" in e.message
            for e in events.items
        )

    await eventually(pull_event, what="a Failed pull event")
    _ = await get_pod(api, "noimg")

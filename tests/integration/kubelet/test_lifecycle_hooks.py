"""postStart and preStop hooks on real containers: when they run, and what a failure does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import docker
import pytest

from proto import core_pb2
from tests.integration.kubelet.pods import (
    container,
    container_id,
    pod,
    running,
    status_of,
    wait_for_pod,
    wait_gone,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker


def exec_hook(*command: str) -> core_pb2.LifecycleHandler:
    return core_pb2.LifecycleHandler(exec=core_pb2.ExecAction(command=list(command)))


async def events_for(api, name: str, reason: str) -> list[str]:
    listed = await api.list("events", "default")
    return [
        e.message for e in listed.items if e.involved_object.name == name and e.reason == reason
    ]


async def test_a_post_start_hook_has_run_when_the_container_shows_running(api, kubelet, node_name):
    c = container("main", "sleep", "3600")
    # The hook takes a while: the pod must not show Running before it has finished.
    c.lifecycle.post_start.CopyFrom(exec_hook("sh", "-c", "sleep 1; echo hello > /tmp/message"))
    await api.create(pod("hooked", node_name, c))
    p = await wait_for_pod(api, "hooked", running, what="running after its postStart hook")
    box = await asyncio.to_thread(docker.from_env().containers.get, container_id(p, "main"))
    found = await asyncio.to_thread(box.exec_run, ["cat", "/tmp/message"])
    assert isinstance(found.output, bytes)
    assert found.output.decode().strip() == "hello"
    assert status_of(p, "main").restart_count == 0


async def test_a_pre_stop_hook_runs_before_the_container_is_signalled(
    api, kubelet, node_name, tmp_path: Path
):
    out = tmp_path / "out"
    c = container(
        "main",
        "sh",
        "-c",
        "trap 'echo term >> /out/log; exit 0' TERM; while true; do sleep 1; done",
        volume_mounts=[core_pb2.VolumeMount(name="out", mount_path="/out")],
    )
    c.lifecycle.pre_stop.CopyFrom(exec_hook("sh", "-c", "echo prestop >> /out/log"))
    p = pod("stopping", node_name, c, grace=10)
    host = p.spec.volumes.add(name="out").host_path
    host.path, host.type = str(out), "DirectoryOrCreate"
    await api.create(p)
    await wait_for_pod(api, "stopping", running)
    await api.delete("pods", "default", "stopping")
    await wait_gone(api, "stopping")
    assert (out / "log").read_text().split() == ["prestop", "term"]


async def test_a_failing_post_start_hook_kills_the_container_and_it_restarts(
    api, kubelet, node_name
):
    c = container("main", "sleep", "3600")
    c.lifecycle.post_start.CopyFrom(exec_hook("sh", "-c", "exit 3"))
    await api.create(pod("badhook", node_name, c))
    await wait_for_pod(
        api,
        "badhook",
        lambda p: status_of(p, "main").restart_count >= 1,
        timeout=60,
        what="a restart after the failed hook",
    )

    async def reported() -> bool:
        messages = await events_for(api, "badhook", "FailedPostStartHook")
        return any(
            m.startswith('Exec lifecycle hook ([sh -c exit 3]) for Container "main" in Pod ')
            for m in messages
        )

    await eventually(reported, what="a FailedPostStartHook event")


async def test_a_post_start_get_that_nothing_answers_fails_naming_the_url(api, kubelet, node_name):
    c = container("main", "sleep", "3600")
    c.lifecycle.post_start.http_get.path = "/started"
    c.lifecycle.post_start.http_get.port.int_val = 8081
    await api.create(pod("nobody", node_name, c, restart_policy="Never"))
    p = await wait_for_pod(
        api,
        "nobody",
        lambda p: p.status.phase == "Failed",
        timeout=60,
        what="the pod failed by its hook",
    )
    assert status_of(p, "main").state.HasField("terminated")
    messages = await events_for(api, "nobody", "FailedPostStartHook")
    assert any(
        m.startswith('HTTP lifecycle hook (/started) for Container "main" in Pod ')
        and "connection refused" in m
        for m in messages
    ), messages


async def test_a_pod_deleted_during_its_post_start_hook_goes_without_waiting_for_it(
    api, kubelet, node_name
):
    c = container("main", "sleep", "3600")
    c.lifecycle.post_start.CopyFrom(exec_hook("sh", "-c", "touch /tmp/hooking; sleep 3600"))
    await api.create(pod("stuck", node_name, c))

    async def hooking() -> bool:
        listed = await asyncio.to_thread(
            docker.from_env().containers.list, filters={"name": "stuck"}
        )
        for box in listed:
            found = await asyncio.to_thread(box.exec_run, ["test", "-e", "/tmp/hooking"])
            if found.exit_code == 0:
                return True
        return False

    await eventually(hooking, timeout=60, what="the hook running")
    await api.delete("pods", "default", "stuck")
    # Without giving the hook up the worker would sit in it for its 5-minute limit.
    await wait_gone(api, "stuck", timeout=60)

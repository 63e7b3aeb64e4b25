"""Sidecar containers (init containers with restartPolicy Always) on real containers:
started before the app, kept running beside it, restarted when they exit, stopped after
it, and no obstacle to a finished pod's completion."""

from __future__ import annotations

from pathlib import Path

import pytest

from proto import core_pb2
from tests.integration.kubelet.pods import (
    condition,
    container,
    get_pod,
    pod,
    running,
    wait_for_pod,
    wait_gone,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker

SHARED = core_pb2.VolumeMount(name="shared", mount_path="/shared")


def sidecar(name: str, *command: str) -> core_pb2.Container:
    c = container(name, *command, volume_mounts=[SHARED])
    c.restart_policy = "Always"
    return c


def init_status(p: core_pb2.Pod, name: str) -> core_pb2.ContainerStatus:
    return next(s for s in p.status.init_container_statuses if s.name == name)


def with_shared(p: core_pb2.Pod, host: Path | None = None) -> core_pb2.Pod:
    volume = p.spec.volumes.add(name="shared")
    if host is None:
        volume.empty_dir.SetInParent()
    else:
        volume.host_path.path, volume.host_path.type = str(host), "DirectoryOrCreate"
    return p


async def test_a_sidecar_runs_before_and_beside_the_app_and_counts_for_readiness(
    api, kubelet, node_name
):
    side = sidecar("logger", "sh", "-c", "echo up > /shared/sidecar; exec sleep 3600")
    # The app fails at once unless the sidecar ran first.
    app = container(
        "main", "sh", "-c", "cat /shared/sidecar || exit 1; exec sleep 3600", volume_mounts=[SHARED]
    )
    p = with_shared(pod("sided", node_name, app, restart_policy="Never"))
    p.spec.init_containers.append(side)
    await api.create(p)
    made = await wait_for_pod(
        api, "sided", lambda p: running(p) and condition(p, "Ready") == "True"
    )
    status = init_status(made, "logger")
    assert status.state.HasField("running") and status.started and status.ready
    assert condition(made, "Initialized") == "True"


async def test_a_sidecar_that_exits_is_restarted_even_when_the_pod_never_restarts(
    api, kubelet, node_name
):
    side = sidecar("flaky", "sh", "-c", "sleep 1; exit 1")
    app = container("main", "sleep", "3600", volume_mounts=[SHARED])
    p = with_shared(pod("flaky", node_name, app, restart_policy="Never"))
    p.spec.init_containers.append(side)
    await api.create(p)
    await wait_for_pod(
        api,
        "flaky",
        lambda p: any(
            s.name == "flaky" and s.restart_count >= 1 for s in p.status.init_container_statuses
        ),
        timeout=60,
        what="the sidecar restarted",
    )
    assert (await get_pod(api, "flaky")).status.phase == "Running"


async def test_a_finished_app_completes_the_pod_and_its_sidecar_is_stopped(api, kubelet, node_name):
    side = sidecar("helper", "sleep", "3600")
    app = container("main", "sh", "-c", "sleep 1; exit 0", volume_mounts=[SHARED])
    p = with_shared(pod("job-like", node_name, app, restart_policy="Never"))
    p.spec.init_containers.append(side)
    await api.create(p)
    await wait_for_pod(
        api, "job-like", lambda p: p.status.phase == "Succeeded", timeout=60, what="Succeeded"
    )

    async def sidecar_stopped() -> bool:
        done = init_status(await get_pod(api, "job-like"), "helper")
        return not done.state.HasField("running")

    await eventually(sidecar_stopped, timeout=30, what="the sidecar stopped")


async def test_on_deletion_the_app_stops_before_its_sidecar(
    api, kubelet, node_name, tmp_path: Path
):
    log = tmp_path / "shared"

    def trapping(name: str) -> str:
        return f"trap 'echo {name} >> /shared/log; exit 0' TERM; while true; do sleep 1; done"

    p = with_shared(
        pod(
            "ordered",
            node_name,
            container("main", "sh", "-c", trapping("app"), volume_mounts=[SHARED]),
            grace=20,
        ),
        log,
    )
    p.spec.init_containers.append(sidecar("proxy", "sh", "-c", trapping("sidecar")))
    await api.create(p)
    await wait_for_pod(api, "ordered", running)
    await api.delete("pods", "default", "ordered")
    await wait_gone(api, "ordered", timeout=60)
    assert (log / "log").read_text().split() == ["app", "sidecar"]


async def test_the_next_init_container_waits_for_a_sidecars_startup_probe(api, kubelet, node_name):
    side = sidecar("slow", "sh", "-c", "sleep 2; touch /shared/ready; exec sleep 3600")
    side.startup_probe.exec.command.extend(["test", "-e", "/shared/ready"])
    side.startup_probe.period_seconds = 1
    side.startup_probe.failure_threshold = 30
    # Fails at once, and fails the Never pod, if it starts before the sidecar is ready.
    check = container("check", "sh", "-c", "test -e /shared/ready", volume_mounts=[SHARED])
    p = with_shared(pod("gated", node_name, container("main", "sleep", "3600"),
                        restart_policy="Never"))  # fmt: skip
    p.spec.init_containers.extend([side, check])
    await api.create(p)
    made = await wait_for_pod(api, "gated", running, timeout=60, what="running")
    assert init_status(made, "check").state.terminated.exit_code == 0

"""Restart policies, crash-loop back-off and probes, on real containers."""

from __future__ import annotations

import asyncio

import pytest

from proto import core_pb2, meta_pb2
from tests.integration.kubelet.pods import (
    condition,
    container,
    get_pod,
    pod,
    running,
    status_of,
    wait_for_pod,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.docker


async def test_a_crashing_container_under_always_backs_off_longer_each_time(
    api, kubelet, node_name
):
    await api.create(pod("crash", node_name, container("main", "sh", "-c", "exit 1")))
    p = await wait_for_pod(
        api,
        "crash",
        lambda p: (
            status_of(p, "main").restart_count >= 2
            and status_of(p, "main").state.waiting.reason == "CrashLoopBackOff"
        ),
        what="CrashLoopBackOff after two restarts",
    )
    st = status_of(p, "main")
    assert st.last_state.terminated.exit_code == 1
    assert p.status.phase == "Running"
    first_message = st.state.waiting.message
    p = await wait_for_pod(
        api,
        "crash",
        lambda p: (
            status_of(p, "main").state.waiting.reason == "CrashLoopBackOff"
            and status_of(p, "main").state.waiting.message != first_message
        ),
        what="a longer back-off",
    )
    # Back-off 1 s doubling (test setting): the delay in the message grows.
    delays = [
        float(m.split("back-off ")[1].split("s ")[0])
        for m in (first_message, status_of(p, "main").state.waiting.message)
    ]
    assert delays[1] > delays[0]


async def test_on_failure_restarts_until_the_container_exits_zero(api, kubelet, node_name):
    # Fails on the first run, succeeds on the second: the emptyDir remembers the first run.
    c = container(
        "main", "sh", "-c", "if [ -e /state/ran ]; then exit 0; fi; touch /state/ran; exit 1"
    )
    c.volume_mounts.add(name="state", mount_path="/state")
    p = pod("onfail", node_name, c, restart_policy="OnFailure")
    p.spec.volumes.add(name="state").empty_dir.SetInParent()
    await api.create(p)
    p = await wait_for_pod(api, "onfail", lambda p: p.status.phase == "Succeeded", timeout=30)
    st = status_of(p, "main")
    assert st.restart_count == 1
    assert st.state.terminated.exit_code == 0


@pytest.mark.parametrize(
    ("exit_code", "phase"), [(0, "Succeeded"), (1, "Failed")], ids=["exit-0", "exit-1"]
)
async def test_never_leaves_the_pod_finished_with_the_containers_result(
    api, kubelet, node_name, exit_code, phase
):
    name = f"never-{exit_code}"
    await api.create(
        pod(
            name,
            node_name,
            container("main", "sh", "-c", f"exit {exit_code}"),
            restart_policy="Never",
        )
    )
    p = await wait_for_pod(api, name, lambda p: p.status.phase == phase)
    st = status_of(p, "main")
    assert st.restart_count == 0
    assert st.state.terminated.exit_code == exit_code
    assert condition(p, "Ready") == "False"


def http_probe(path: str) -> core_pb2.Probe:
    probe = core_pb2.Probe(period_seconds=1, failure_threshold=1)
    probe.http_get.path = path
    probe.http_get.port.CopyFrom(meta_pb2.IntOrString(int_val=8080))
    return probe


SERVE = "mkdir -p /www; echo ok > /www/healthz; echo ok > /www/ready; exec httpd -f -p 8080 -h /www"


async def test_a_failing_liveness_probe_restarts_the_container(api, kubelet, node_name):
    # The startup probe holds the liveness probe back until httpd listens: otherwise a
    # first attempt before httpd is up (likely under load) restarts it for the wrong reason.
    startup = http_probe("/healthz")
    startup.failure_threshold = 30
    c = container(
        "web", "sh", "-c", SERVE, liveness_probe=http_probe("/healthz"), startup_probe=startup
    )
    await api.create(pod("live", node_name, c))
    p = await wait_for_pod(
        api, "live", lambda p: running(p) and status_of(p, "web").started, what="web started"
    )
    cid = status_of(p, "web").container_id.removeprefix("docker://")
    import docker

    box = await asyncio.to_thread(docker.from_env().containers.get, cid)
    await asyncio.to_thread(box.exec_run, ["rm", "/www/healthz"])
    p = await wait_for_pod(
        api,
        "live",
        lambda p: status_of(p, "web").restart_count == 1 and running(p),
        what="a restart after the liveness probe failed",
    )

    async def unhealthy_event():
        events = await api.list("events", "default")
        return any(
            e.involved_object.name == "live"
            and e.reason == "Unhealthy"
            and e.message.startswith(
                "Liveness probe failed: HTTP probe failed with statuscode: 404"
            )
            for e in events.items
        )

    await eventually(unhealthy_event, what="an Unhealthy event")


async def test_a_failing_readiness_probe_flips_ready_and_back(api, kubelet, node_name):
    c = container("web", "sh", "-c", SERVE, readiness_probe=http_probe("/ready"))
    await api.create(pod("ready", node_name, c))
    p = await wait_for_pod(api, "ready", lambda p: condition(p, "Ready") == "True")
    assert status_of(p, "web").ready
    import docker

    box = await asyncio.to_thread(
        docker.from_env().containers.get,
        status_of(p, "web").container_id.removeprefix("docker://"),
    )
    await asyncio.to_thread(box.exec_run, ["rm", "/www/ready"])
    p = await wait_for_pod(api, "ready", lambda p: condition(p, "Ready") == "False")
    assert condition(p, "ContainersReady") == "False"
    assert not status_of(p, "web").ready
    assert status_of(p, "web").restart_count == 0
    await asyncio.to_thread(box.exec_run, ["sh", "-c", "echo ok > /www/ready"])
    await wait_for_pod(api, "ready", lambda p: condition(p, "Ready") == "True")
    assert (await get_pod(api, "ready")).status.phase == "Running"

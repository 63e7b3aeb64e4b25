"""`tug rollout`, `tug scale`, `tug set image` against live controllers."""

from __future__ import annotations

import io
from typing import Any

from cli.main import run as tug
from client.api import ApiClient
from master.controllers import controller_utils as cu
from master.controllers import deployment_util as du
from proto import core_pb2, workloads_pb2
from tests.integration.controllers.conftest import fetch, fetch_all, wait_for
from tests.integration.controllers.test_deployment import deployment, rolled_out


async def cli(server: str, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await tug(["-s", server, "-n", "default", *args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


async def test_a_stalled_rollout_fails_rollout_status_and_undo_restores_the_old_version(
    api: ApiClient, apiserver: Any, manager: Any, simulator: Any
) -> None:
    server = apiserver.endpoint
    await simulator(["n1", "n2"], ready=lambda p: p.spec.containers[0].image != "broken:1")
    await manager.start()
    await api.create(deployment("web", 4, surge=1, unavailable=1, deadline=3))
    code, out, _ = await cli(server, "rollout", "status", "deploy/web", "--timeout", "30")
    assert code == 0, out
    assert 'deployment "web" successfully rolled out' in out

    code, out, _ = await cli(server, "set", "image", "deploy/web", "main=broken:1")
    assert (code, out.strip()) == (0, "deployment.apps/web image updated")
    code, out, err = await cli(server, "rollout", "status", "deploy/web", "--timeout", "60")
    assert code == 1
    assert 'deployment "web" exceeded its progress deadline' in err
    assert "Waiting for deployment" in out

    code, out, _ = await cli(server, "rollout", "history", "deploy/web")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["1", "2"]

    code, out, _ = await cli(server, "rollout", "undo", "deploy/web")
    assert (code, out.strip()) == (0, "deployment.apps/web rolled back")
    code, out, _ = await cli(server, "rollout", "status", "deploy/web", "--timeout", "60")
    assert code == 0, out
    pods = [p for p in await fetch_all(api, core_pb2.Pod) if cu.is_pod_active(p)]
    assert {p.spec.containers[0].image for p in pods} == {"busybox:1.35"}
    assert len(pods) == 4
    d = await fetch(api, workloads_pb2.Deployment, "web")
    assert d.metadata.annotations[du.REVISION] == "3"


async def test_scale_pause_resume_and_restart(
    api: ApiClient, apiserver: Any, manager: Any, simulator: Any
) -> None:
    server = apiserver.endpoint
    await simulator(["n1"])
    await manager.start()
    await api.create(deployment("web", 1))
    await wait_for(lambda: rolled_out(api, "web", 1), what="rolled out")
    code, out, _ = await cli(server, "scale", "deploy/web", "--replicas", "3")
    assert (code, out.strip()) == (0, "deployment.apps/web scaled")
    await wait_for(lambda: rolled_out(api, "web", 3), what="3 replicas")

    code, out, _ = await cli(server, "rollout", "pause", "deploy/web")
    assert (code, out.strip()) == (0, "deployment.apps/web paused")
    code, _, _ = await cli(server, "set", "image", "deploy/web", "*=busybox:1.36")
    assert code == 0

    async def paused() -> bool:
        d = await fetch(api, workloads_pb2.Deployment, "web")
        cond = cu.get_condition(d.status.conditions, "Progressing")
        return cond is not None and cond.reason == du.PAUSED

    await wait_for(paused, what="Progressing reason DeploymentPaused")
    rss = await fetch_all(api, workloads_pb2.ReplicaSet)
    assert len(rss) == 1  # no rollout while paused
    code, out, _ = await cli(server, "rollout", "resume", "deploy/web")
    assert (code, out.strip()) == (0, "deployment.apps/web resumed")
    code, out, _ = await cli(server, "rollout", "status", "deploy/web", "--timeout", "30")
    assert code == 0, out

    code, out, _ = await cli(server, "rollout", "restart", "deploy/web")
    assert (code, out.strip()) == (0, "deployment.apps/web restarted")
    code, out, _ = await cli(server, "rollout", "status", "deploy/web", "--timeout", "30")
    assert code == 0, out
    assert len(await fetch_all(api, workloads_pb2.ReplicaSet)) == 3

    code, _, err = await cli(server, "scale", "deploy/nope", "--replicas", "1")
    assert code == 1 and 'deployments.apps "nope" not found' in err

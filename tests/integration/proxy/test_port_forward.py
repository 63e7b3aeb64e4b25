"""`tug port-forward` in-process: pod/NAME and svc/NAME (named targetPort) to a loopback pod."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from typing import Any

import pytest

from cli import main as tug
from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2
from tests.integration.proxy.conftest import Backend, ask, service
from tests.support.waiting import eventually


async def fake_pod(api: ApiClient, name: str, backend: Backend) -> None:
    """A Running, Ready pod whose IP is a loopback backend (no kubelet needed)."""
    pod: Any = await api.create(from_dict(core_pb2.Pod, {
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.35",
                                 "ports": [{"name": "http", "containerPort": backend.port}]}]},
    }))
    pod.status.phase = "Running"
    pod.status.pod_ip = backend.ip
    pod.status.conditions.add(type="Ready", status="True")
    await api.update_status(pod)


async def forwarding(apiserver: Any, *argv: str) -> tuple[asyncio.Task[int], io.StringIO, int]:
    out, err = io.StringIO(), io.StringIO()
    task = asyncio.create_task(
        tug.run(["port-forward", *argv, "--server", apiserver.endpoint], stdout=out, stderr=err)
    )

    def bound() -> int | None:
        if task.done():
            raise AssertionError(f"port-forward ended: {err.getvalue()}")
        m = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", out.getvalue())
        return int(m.group(1)) if m else None

    port = await eventually(bound, what="port-forward listening")
    return task, out, port


@pytest.mark.parametrize("target", ["pod/web-0", "svc/web"])
async def test_port_forward_reaches_the_pod(
    api: ApiClient, apiserver: Any, backends: list[Backend], target: str
) -> None:
    await fake_pod(api, "web-0", backends[0])
    svc = service("web", port=80)
    svc.spec.ports[0].target_port.str_val = "http"
    await api.create(svc)
    remote = "80" if target.startswith("svc") else str(backends[0].port)

    task, _out, port = await forwarding(apiserver, target, f":{remote}")
    try:
        assert await ask("127.0.0.1", port) == "pod-0"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_port_forward_refuses_a_non_loopback_address_and_a_bad_target(
    apiserver: Any,
) -> None:
    err = io.StringIO()
    code = await tug.run(["port-forward", "svc/web", "80", "--address", "0.0.0.0",
                          "--server", apiserver.endpoint], stdout=io.StringIO(), stderr=err)
    assert code == 1 and "--address" in err.getvalue()
    err = io.StringIO()
    code = await tug.run(["port-forward", "deploy/web", "80", "--server", apiserver.endpoint],
                         stdout=io.StringIO(), stderr=err)
    assert code == 1 and "TYPE/NAME" in err.getvalue()

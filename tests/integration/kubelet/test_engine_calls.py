"""What starting a pod costs the engine: a pod's start is bounded by the engine's pace when
thirty start at once, so each call the Docker runtime saves per pod counts (issue #15).

The runtime's docker-py client is wrapped to record every container call it makes, on the
real engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from kubelet.runtime.docker import DockerRuntime
from kubelet.runtime.interface import ContainerConfig, PodRef

pytestmark = pytest.mark.docker

RECORDED = ("create_container", "start", "inspect_container", "containers")


class EngineCalls:
    """Records (call, container) for the container calls of one docker-py APIClient."""

    def __init__(self, api: Any) -> None:
        self.calls: list[tuple[str, str]] = []
        for name in RECORDED:
            setattr(api, name, self._recording(name, getattr(api, name)))

    def _recording(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            result = call(*args, **kwargs)
            target = args[0] if args and name != "create_container" else ""
            if name == "create_container":
                target = str(result["Id"])
            self.calls.append((name, str(target)))
            return result

        return recorded

    def of(self, container_id: str) -> list[str]:
        """The calls made about one container, in order."""
        return [name for name, target in self.calls if target == container_id]

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
async def runtime(node_name: str) -> AsyncIterator[DockerRuntime]:
    rt = DockerRuntime(node_name)
    try:
        yield rt
    finally:
        await rt.close()


async def test_a_sandbox_starts_with_one_create_one_start_and_one_inspect(runtime, node_name):
    calls = EngineCalls(runtime._client.api)
    pod = PodRef("uid-sandbox", "web", "default")

    sandbox = await runtime.ensure_sandbox(pod, "web", 0)

    assert sandbox.running and sandbox.ip and sandbox.kind == "sandbox"
    assert calls.of(sandbox.id) == ["create_container", "start", "inspect_container"]
    # The relist finds it as the start left it: no second inspect.
    listed = await runtime.list_containers()
    assert [c.id for c in listed] == [sandbox.id]
    assert calls.of(sandbox.id).count("inspect_container") == 1


async def test_an_app_container_starts_with_one_create_one_start_and_one_inspect_by_the_relist(
    runtime, node_name
):
    pod = PodRef("uid-app", "web", "default")
    sandbox = await runtime.ensure_sandbox(pod, "web", 0)
    calls = EngineCalls(runtime._client.api)

    app = await runtime.start_container(
        pod, sandbox, ContainerConfig(name="main", image="busybox:1.35", args=["sleep", "60"])
    )

    assert calls.of(app.id) == ["create_container", "start"]
    seen = {c.id: c for c in await runtime.list_containers()}
    assert seen[app.id].running and seen[app.id].started_at and seen[app.id].pid
    assert seen[app.id].attempt == 0 and seen[app.id].name == "main"
    await runtime.list_containers()
    assert calls.of(app.id).count("inspect_container") == 1


async def test_a_container_created_but_not_started_is_listed_as_inspect_would_show_it(
    runtime, node_name
):
    pod = PodRef("uid-created", "web", "default")
    sandbox = await runtime.ensure_sandbox(pod, "web", 0)
    api = runtime._client.api
    # A container the engine would not start: created with the labels the kubelet gives.
    labels = runtime._labels(pod, "main", "app", 2)
    created = await asyncio.to_thread(
        api.create_container,
        "busybox:1.35",
        ["sleep", "60"],
        labels=labels,
        host_config=api.create_host_config(network_mode=f"container:{sandbox.id}"),
    )
    calls = EngineCalls(api)

    listed = {c.id: c for c in await runtime.list_containers()}

    assert calls.count("inspect_container") == 0
    assert listed[created["Id"]] == await runtime.inspect(created["Id"])

"""A pod's RuntimeClass on the kubelet, with a real API server: the kubelet reads the class
and runs the pod's sandbox and containers with the engine runtime its handler names
(Docker's HostConfig.Runtime); a handler the engine lacks, or a class gone since the pod
was admitted, leaves the pod ContainerCreating with a FailedCreatePodSandBox event in the
words Kubernetes' kubelet uses with containerd, and the pod is still deleted cleanly."""

from __future__ import annotations

import docker
import pytest

from client.api import ApiClient
from kubelet.runtime.fake import FakeRuntime
from proto import core_pb2, node_pb2
from tests.integration.kubelet.pods import (
    container,
    container_id,
    get_pod,
    pod,
    running,
    wait_for_pod,
    wait_gone,
)
from tests.support.waiting import eventually


async def runtime_class(api: ApiClient, name: str, handler: str) -> None:
    rc = node_pb2.RuntimeClass(api_version="node.k8s.io/v1", kind="RuntimeClass", handler=handler)
    rc.metadata.name = name
    await api.create(rc)


def classed(name: str, node: str, klass: str) -> core_pb2.Pod:
    p = pod(name, node, container("main", "sleep", "3600"), grace=0)
    p.spec.runtime_class_name = klass
    return p


async def sandbox_failure(api: ApiClient, name: str) -> str | None:
    for e in (await api.list("events", "default")).items:
        assert isinstance(e, core_pb2.Event)
        if e.involved_object.name == name and e.reason == "FailedCreatePodSandBox":
            return e.message
    return None


async def stays_creating(api: ApiClient, name: str, message: str) -> None:
    """The pod's event says `message`, and the pod waits in ContainerCreating."""
    said = await eventually(
        lambda: sandbox_failure(api, name), timeout=20, what=f"{name}: FailedCreatePodSandBox"
    )
    assert said == f"Failed to create pod sandbox: {message}"
    waiting = await get_pod(api, name)
    assert waiting.status.phase == "Pending"
    [status] = waiting.status.container_statuses
    assert status.state.waiting.reason == "ContainerCreating"


async def test_the_fake_runtime_runs_a_known_handler_and_refuses_others(api, kubelets, node_name):
    runtime = FakeRuntime(node_name, runtime_handlers={"runc"})
    await kubelets.start(node_name, runtime)
    await runtime_class(api, "plain", "runc")
    await runtime_class(api, "exotic", "nope")
    await runtime_class(api, "short-lived", "runc")
    await api.create(classed("runs", node_name, "plain"))
    await api.create(classed("stuck", node_name, "exotic"))

    await wait_for_pod(api, "runs", running)
    assert "runc" in runtime.sandbox_handlers.values()
    # The app is started with its sandbox's handler.
    [app] = [c for c in await runtime.list_containers() if c.name == "main"]
    assert runtime.container_handlers[app.id] == "runc"
    await stays_creating(
        api, "stuck", 'failed to get sandbox runtime: no runtime for "nope" is configured'
    )

    # Admitted while its class existed; the class is gone before the pod is bound.
    await api.create(classed("orphan", "", "short-lived"))
    await api.delete("runtimeclasses", "", "short-lived")
    orphan = await get_pod(api, "orphan")
    orphan.spec.node_name = node_name
    await api.update(orphan)
    await stays_creating(api, "orphan", 'runtimeclasses.node.k8s.io "short-lived" not found')

    for name in ("runs", "stuck", "orphan"):
        await api.delete("pods", "default", name)
        await wait_gone(api, name)


@pytest.mark.docker
async def test_docker_runs_the_pod_with_the_handlers_runtime_or_says_it_has_none(
    api, kubelets, node_name
):
    await kubelets.start(node_name)
    await runtime_class(api, "runc", "runc")
    await runtime_class(api, "unknown", "no-such-runtime")
    await api.create(classed("runs", node_name, "runc"))
    await api.create(classed("stuck", node_name, "unknown"))

    started = await wait_for_pod(api, "runs", running, timeout=60)
    engine = docker.from_env()
    try:
        app = engine.api.inspect_container(container_id(started, "main"))
        sandbox = engine.api.inspect_container(app["HostConfig"]["NetworkMode"].split(":", 1)[1])
    finally:
        engine.close()
    assert app["HostConfig"]["Runtime"] == sandbox["HostConfig"]["Runtime"] == "runc"
    await stays_creating(
        api,
        "stuck",
        'failed to get sandbox runtime: no runtime for "no-such-runtime" is configured',
    )

    for name in ("runs", "stuck"):
        await api.delete("pods", "default", name)
        await wait_gone(api, name)

"""Service environment variables come from the kubelet's Service informer, not from a
`list services` per container."""

from __future__ import annotations

import uuid
from typing import Any

from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import ContainerConfig, ContainerInfo, PodRef
from proto import core_pb2
from tests.integration.kubelet.pods import container, pod, running, wait_for_pod
from tests.support.waiting import eventually


class RecordingRuntime(FakeRuntime):
    """The fake runtime, keeping each container's environment."""

    def __init__(self, node: str) -> None:
        super().__init__(node)
        self.envs: dict[str, dict[str, str]] = {}

    async def start_container(
        self, pod: PodRef, sandbox: ContainerInfo, config: ContainerConfig
    ) -> ContainerInfo:
        self.envs[config.name] = dict(config.env)
        return await super().start_container(pod, sandbox, config)


def service_lists(apiserver: Any) -> float:
    value = apiserver.metrics.registry.get_sample_value(
        "tugboat_apiserver_requests_total",
        {"verb": "list", "resource": "services", "code": "OK"},
    )
    return float(value) if value is not None else 0.0


async def test_containers_get_service_variables_without_a_services_list_each(
    apiserver, api, kubelets
):
    svc = core_pb2.Service(api_version="v1", kind="Service")
    svc.metadata.name, svc.metadata.namespace = "web-db", "default"
    svc.spec.ports.add(name="pg", port=5432, protocol="TCP")
    await api.create(svc)
    node = f"env-{uuid.uuid4().hex[:6]}"
    runtime = RecordingRuntime(node)
    kubelet = await kubelets.start(node, runtime)
    await kubelet.services.wait_synced(10)
    lists = service_lists(apiserver)
    for i in range(3):
        await api.create(pod(f"app-{i}", node, container(f"main-{i}", "sleep", "60")))
    for i in range(3):
        await wait_for_pod(api, f"app-{i}", running)
    await eventually(lambda: len(runtime.envs) == 3, what="three containers created")
    for env in runtime.envs.values():
        assert env["WEB_DB_SERVICE_PORT_PG"] == "5432"
        assert env["WEB_DB_SERVICE_HOST"]
    assert service_lists(apiserver) == lists

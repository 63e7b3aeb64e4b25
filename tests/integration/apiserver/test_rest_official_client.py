"""The official Python client (`kubernetes` on PyPI), unchanged, against the HTTP API:
typed create, list, patch and delete, and `watch.Watch` streaming pod events.

The client is synchronous, so each call runs in a thread while the API server serves in
the test's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes import client, watch

from master.apiserver.server import ApiServer
from tests.support.waiting import eventually


@pytest.fixture
async def api(apiserver: ApiServer) -> AsyncIterator[client.ApiClient]:
    assert apiserver.status is not None
    config = client.Configuration(host=f"http://127.0.0.1:{apiserver.status.port}")
    with client.ApiClient(config) as api_client:
        yield api_client


def _pod(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": "watched"}),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name="c", image="busybox:1.35", command=["sleep", "9"])]
        ),
    )


async def test_typed_create_list_patch_and_delete_of_a_configmap(api: client.ApiClient):
    core = client.CoreV1Api(api)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"), data={"a": "1"})
    created: Any = await asyncio.to_thread(core.create_namespaced_config_map, "default", body)
    assert isinstance(created, client.V1ConfigMap) and created.metadata is not None
    assert created.metadata.uid and created.metadata.resource_version
    listed: Any = await asyncio.to_thread(core.list_namespaced_config_map, "default")
    assert [c.metadata.name for c in listed.items] == ["settings"]
    patched: Any = await asyncio.to_thread(
        core.patch_namespaced_config_map, "settings", "default", {"data": {"b": "2"}}
    )
    assert patched.data == {"a": "1", "b": "2"}
    await asyncio.to_thread(core.delete_namespaced_config_map, "settings", "default")
    with pytest.raises(client.ApiException) as raised:
        await asyncio.to_thread(core.read_namespaced_config_map, "settings", "default")
    assert raised.value.status == 404


async def test_typed_deployments_and_the_scale_subresource(api: client.ApiClient):
    apps = client.AppsV1Api(api)
    template = client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels={"app": "d"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.35")]),
    )
    spec = client.V1DeploymentSpec(
        replicas=1, selector=client.V1LabelSelector(match_labels={"app": "d"}), template=template
    )
    body = client.V1Deployment(metadata=client.V1ObjectMeta(name="d"), spec=spec)
    await asyncio.to_thread(apps.create_namespaced_deployment, "default", body)
    await asyncio.to_thread(
        apps.patch_namespaced_deployment_scale, "d", "default", {"spec": {"replicas": 3}}
    )
    scale: Any = await asyncio.to_thread(apps.read_namespaced_deployment_scale, "d", "default")
    assert isinstance(scale, client.V1Scale) and scale.spec and scale.status
    assert scale.spec.replicas == 3
    assert scale.status.selector == "app=d"


async def test_watch_streams_the_pods_that_exist_then_new_ones(api: client.ApiClient):
    core = client.CoreV1Api(api)
    await asyncio.to_thread(core.create_namespaced_pod, "default", _pod("before"))
    seen: list[tuple[str, str]] = []

    def follow() -> None:
        stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
            core.list_namespaced_pod, "default", label_selector="app=watched", timeout_seconds=20
        )
        for event in stream:
            pod = event["object"]
            assert isinstance(pod, client.V1Pod) and pod.metadata and pod.metadata.name
            seen.append((str(event["type"]), pod.metadata.name))
            if pod.metadata.name == "after":
                return

    watching = asyncio.create_task(asyncio.to_thread(follow))
    await eventually(lambda: bool(seen), timeout=10, what="the watch's first event")
    await asyncio.to_thread(core.create_namespaced_pod, "default", _pod("after"))
    async with asyncio.timeout(30):
        await watching
    assert seen[0] == ("ADDED", "before")
    assert ("ADDED", "after") in seen


async def test_typed_endpoint_slices_are_written_and_listed_by_service_name(api: client.ApiClient):
    discovery = client.DiscoveryV1Api(api)
    body = client.V1EndpointSlice(
        metadata=client.V1ObjectMeta(name="web-abc", labels={"kubernetes.io/service-name": "web"}),
        address_type="IPv4",
        endpoints=[
            client.V1Endpoint(
                addresses=["172.30.1.5"], conditions=client.V1EndpointConditions(ready=True)
            )
        ],
        ports=[client.DiscoveryV1EndpointPort(name="http", port=8080, protocol="TCP")],
    )
    await asyncio.to_thread(discovery.create_namespaced_endpoint_slice, "default", body)
    listed: Any = await asyncio.to_thread(
        discovery.list_namespaced_endpoint_slice,
        "default",
        label_selector="kubernetes.io/service-name=web",
    )
    (found,) = listed.items
    assert isinstance(found, client.V1EndpointSlice) and found.endpoints and found.ports
    assert found.endpoints[0].conditions is not None
    assert found.endpoints[0].addresses == ["172.30.1.5"] and found.endpoints[0].conditions.ready
    assert [(p.name, p.port) for p in found.ports] == [("http", 8080)]

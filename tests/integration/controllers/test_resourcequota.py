"""A ResourceQuota's usage is recounted when objects leave, which admission never sees."""

from __future__ import annotations

from typing import Any

from client.api import ApiClient
from proto import policy_pb2
from tests.integration.controllers.conftest import fetch, manifest, wait_for


def quota(hard: dict[str, str]) -> Any:
    return manifest(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "team", "namespace": "default"},
            "spec": {"hard": hard},
        }
    )


def pod(name: str, cpu: str) -> Any:
    return manifest(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox:1.35",
                        "resources": {"requests": {"cpu": cpu}, "limits": {"cpu": cpu}},
                    }
                ]
            },
        }
    )


def configmap(name: str) -> Any:
    return manifest(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"},
        }
    )


async def used(api: ApiClient) -> dict[str, str]:
    return dict((await fetch(api, policy_pb2.ResourceQuota, "team")).status.used)


async def test_a_new_quota_shows_what_the_namespace_already_uses(api: ApiClient, manager: Any):
    await api.create(pod("web", "200m"))
    await api.create(configmap("settings"))
    await manager.start()
    await api.create(quota({"pods": "5", "requests.cpu": "1", "count/configmaps": "4"}))
    want = {"pods": "1", "requests.cpu": "200m", "count/configmaps": "1"}
    await wait_for(lambda: _is(api, want), what=f"status.used {want}")


async def test_a_deleted_pod_is_taken_off_the_quota_at_once(api: ApiClient, manager: Any):
    await manager.start()
    await api.create(quota({"pods": "5", "requests.cpu": "2"}))
    await api.create(pod("a", "500m"))
    await api.create(pod("b", "300m"))
    await wait_for(lambda: _is(api, {"pods": "2", "requests.cpu": "800m"}), what="two pods")
    await api.delete("pods", "default", "a", grace_period_seconds=0)
    await wait_for(lambda: _is(api, {"pods": "1", "requests.cpu": "300m"}), what="one pod")


async def test_other_kinds_are_recounted_every_sync_period(api: ApiClient, manager: Any):
    await manager.start(resource_quota_sync_period=0.5)
    await api.create(quota({"count/configmaps": "3"}))
    await api.create(configmap("one"))
    await api.create(configmap("two"))
    await wait_for(lambda: _is(api, {"count/configmaps": "2"}), what="two configmaps")
    await api.delete("configmaps", "default", "one")
    await wait_for(lambda: _is(api, {"count/configmaps": "1"}), what="one configmap")


async def _is(api: ApiClient, want: dict[str, str]) -> bool:
    return await used(api) == want


async def test_a_scoped_quota_is_recounted_from_the_pods_its_scopes_match(
    api: ApiClient, manager: Any
):
    await api.create(pod("guaranteed", "200m"))
    lasting = pod("job", "100m")
    lasting.spec.active_deadline_seconds = 600
    await api.create(lasting)
    await manager.start()
    terminating = quota({"pods": "5", "requests.cpu": "1"})
    terminating.spec.scopes.append("Terminating")
    await api.create(terminating)
    await wait_for(lambda: _is(api, {"pods": "1", "requests.cpu": "100m"}), what="the job only")

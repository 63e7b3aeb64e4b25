"""`tug debug` against a real API server: the ephemeral container it adds, the name it
picks, and refusals that say what is wrong. (A kubelet running one: tests/e2e.)"""

from __future__ import annotations

import re

from client.api import ApiClient
from proto import core_pb2


async def _pod(apiserver) -> None:
    pod = core_pb2.Pod(api_version="v1", kind="Pod")
    pod.metadata.name, pod.metadata.namespace = "web", "default"
    pod.spec.containers.add(name="app", image="busybox:1.35", command=["sleep", "3600"])
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(pod)


async def _ephemeral(apiserver) -> list[core_pb2.EphemeralContainer]:
    async with ApiClient([apiserver.endpoint]) as api:
        pod = await api.get("pods", "default", "web")
    assert isinstance(pod, core_pb2.Pod)
    return list(pod.spec.ephemeral_containers)


async def test_debug_adds_an_ephemeral_container_targeting_the_app(tug, apiserver):
    await _pod(apiserver)

    # As kubectl takes them: flags after the pod, the command after `--`.
    done = await tug(
        "--server", apiserver.endpoint, "debug", "web", "--image", "busybox:1.35",
        "--target", "app", "-c", "dbg", "--", "sh", "-c", "ps", server=False,
    )  # fmt: skip

    assert done.code == 0, done.err
    [added] = await _ephemeral(apiserver)
    assert (added.name, added.image, added.target_container_name) == ("dbg", "busybox:1.35", "app")
    assert list(added.command) == ["sh", "-c", "ps"]
    assert added.image_pull_policy == "IfNotPresent", "defaulted by the API server"


async def test_debug_names_the_container_when_not_told(tug, apiserver):
    await _pod(apiserver)

    done = await tug("debug", "web", "--image", "busybox:1.35")

    assert done.code == 0, done.err
    found = re.search(r"Defaulting debug container name to (debugger-[a-z0-9]{5})\.", done.err)
    assert found, done.err
    assert [e.name for e in await _ephemeral(apiserver)] == [found.group(1)]


async def test_debug_refusals_name_the_pod_or_the_field(tug, apiserver):
    missing = await tug("debug", "nope", "--image", "busybox:1.35")
    assert missing.code != 0 and 'pods "nope" not found' in missing.err

    await _pod(apiserver)
    taken = await tug("debug", "web", "--image", "busybox:1.35", "-c", "app")
    assert taken.code != 0
    assert 'spec.ephemeralContainers[0].name: Duplicate value: "app"' in taken.err
    assert await _ephemeral(apiserver) == []


async def test_debug_i_says_when_no_kubelet_starts_the_container(tug, apiserver):
    await _pod(apiserver)

    done = await tug("--server", apiserver.endpoint, "debug", "web", "--image", "busybox:1.35",
                     "-c", "dbg", "-i", "--timeout", "1s", "--", "sh", server=False)  # fmt: skip

    assert done.code != 0
    assert "container dbg did not start within 1s" in done.err

"""A pod's imagePullSecrets reach a real private registry through the kubelet's pull.

The registry (tests/support/registry.py) holds an image no one has locally and answers
only with a password, so a pod without the Secret waits in ErrImagePull and one naming
it runs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from client.codec import from_dict
from proto import core_pb2
from tests.integration.kubelet.pods import container, pod, running, status_of, wait_for_pod
from tests.support.registry import PrivateRegistry, private_registry

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRegistry]:
    with private_registry(tmp_path_factory.mktemp("registry")) as r:
        yield r


def docker_config_secret(name: str, registry: PrivateRegistry) -> Any:
    """What `kubectl create secret docker-registry` makes."""
    auth = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    entry = {"username": registry.username, "password": registry.password, "auth": auth}
    config = {"auths": {registry.address: entry}}
    return from_dict(
        core_pb2.Secret,
        {
            "metadata": {"name": name, "namespace": "default"},
            "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": json.dumps(config)},
        },
    )


def pull_failed(p: core_pb2.Pod) -> bool:
    return status_of(p, "main").state.waiting.reason in ("ErrImagePull", "ImagePullBackOff")


async def test_a_private_image_is_pulled_only_with_the_pods_pull_secret(
    api: Any, kubelet: Any, node_name: str, registry: PrivateRegistry
) -> None:
    image = registry.image
    without = pod("anonymous", node_name, container("main", "sleep", "3600", image=image))
    without.spec.image_pull_secrets.add(name="nowhere")
    await api.create(without)
    await wait_for_pod(api, "anonymous", pull_failed, what="the pull refused")
    events = (await api.list("events", "default")).items
    refused = [e.message for e in events if e.reason == "Failed"]
    assert any(m.startswith(f'Failed to pull image "{image}"') for m in refused), refused
    missing = [e.message for e in events if e.reason == "FailedToRetrieveImagePullSecret"]
    assert missing and "(nowhere)" in missing[0], missing

    await api.create(docker_config_secret("regcred", registry))
    with_secret = pod("entitled", node_name, container("main", "sleep", "3600", image=image))
    with_secret.spec.image_pull_secrets.add(name="regcred")
    await api.create(with_secret)
    await wait_for_pod(api, "entitled", running, timeout=60, what="the private image running")

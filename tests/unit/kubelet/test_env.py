"""A container's environment: sources, precedence, $(VAR) expansion and clear errors."""

from __future__ import annotations

import pytest

from kubelet.pods.config import ContainerConfigError
from kubelet.pods.downward import NodeCapacity
from kubelet.pods.env import container_env, expand
from proto import core_pb2


class Source:
    def __init__(self) -> None:
        cm = core_pb2.ConfigMap(data={"a": "1", "b": "2", "bad key": "x"})
        self.configmaps = {"cm": cm}
        self.secrets = {"s": core_pb2.Secret(data={"pw": b"hunter2"})}

    async def configmap(self, namespace: str, name: str):
        return self.configmaps.get(name)

    async def secret(self, namespace: str, name: str):
        return self.secrets.get(name)

    async def token(
        self, pod: core_pb2.Pod, audience: str = "", expiration_seconds: int = 0
    ) -> str:
        return ""

    async def claim(self, namespace: str, name: str) -> None:
        return None

    async def volume(self, name: str) -> None:
        return None


def a_pod() -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name, p.metadata.namespace, p.metadata.uid = "web-1", "prod", "u-1"
    p.metadata.labels["app"] = "web"
    p.spec.node_name = "n1"
    return p


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)-x", "1-x"),
        ("$(MISSING)", "$(MISSING)"),
        ("$$(A)", "$(A)"),
        ("plain", "plain"),
    ],
    ids=["defined", "undefined-kept", "escaped", "no-reference"],
)
def test_references_expand_like_kubernetes(text, expected):
    assert expand(text, {"A": "1"}) == expected


async def test_env_wins_over_env_from_and_fields_resolve():
    c = core_pb2.Container(name="main")
    c.env_from.add(prefix="CM_").config_map_ref.name = "cm"
    c.env.add(name="CM_a", value="override")
    c.env.add(name="PW").value_from.secret_key_ref.CopyFrom(
        core_pb2.SecretKeySelector(name="s", key="pw")
    )
    c.env.add(name="NODE").value_from.field_ref.field_path = "spec.nodeName"
    c.env.add(name="APP").value_from.field_ref.field_path = "metadata.labels['app']"
    c.env.add(name="IP").value_from.field_ref.field_path = "status.podIP"
    env = await container_env(a_pod(), c, Source(), "10.0.0.5")
    assert env["CM_a"] == "override"
    assert env["CM_b"] == "2"
    assert "CM_bad key" not in env
    assert env["PW"] == "hunter2"
    assert (env["NODE"], env["APP"], env["IP"]) == ("n1", "web", "10.0.0.5")


async def test_a_missing_key_is_reported_in_kubernetes_words_naming_key_and_configmap():
    c = core_pb2.Container(name="main")
    c.env.add(name="X").value_from.config_map_key_ref.CopyFrom(
        core_pb2.ConfigMapKeySelector(name="cm", key="nope")
    )
    with pytest.raises(ContainerConfigError) as e:
        await container_env(a_pod(), c, Source(), "")
    # The container's waiting message, as Kubernetes 1.32 writes it: nothing before it.
    assert str(e.value) == "couldn't find key nope in ConfigMap prod/cm"


async def test_an_optional_missing_secret_is_skipped():
    c = core_pb2.Container(name="main")
    sel = c.env.add(name="X").value_from.secret_key_ref
    sel.name, sel.key, sel.optional = "absent", "k", True
    assert await container_env(a_pod(), c, Source(), "") == {}


async def test_resource_fields_read_the_containers_own_requests_and_limits():
    pod = a_pod()
    c = pod.spec.containers.add(name="main")
    c.resources.requests["memory"] = "32Mi"
    c.resources.limits["cpu"] = "1500m"
    c.env.add(name="MEM").value_from.resource_field_ref.resource = "requests.memory"
    cpu = c.env.add(name="CPU").value_from.resource_field_ref
    cpu.resource, cpu.divisor = "limits.cpu", "1m"
    # No divisor: whole cores, rounded up. No memory limit: the node's allocatable.
    c.env.add(name="CORES").value_from.resource_field_ref.resource = "limits.cpu"
    c.env.add(name="MEM_LIMIT").value_from.resource_field_ref.resource = "limits.memory"
    capacity = NodeCapacity(cpu_millis=2000, memory_bytes=1 << 30)
    env = await container_env(pod, c, Source(), "10.0.0.5", capacity)
    assert (env["MEM"], env["CPU"], env["CORES"]) == (str(32 << 20), "1500", "2")
    assert env["MEM_LIMIT"] == str(1 << 30)

"""Pod Security Standards per namespace: refusals name the check and the field; nothing is
stored; privileged namespaces (the system ones) take anything; new namespaces get baseline."""

from __future__ import annotations

from typing import Any

import pytest

from client import errors
from client.api import ApiClient
from client.codec import from_dict
from master.apiserver.server import ApiServer
from proto import core_pb2


def _namespace(name: str, level: str | None) -> core_pb2.Namespace:
    labels = {"pod-security.kubernetes.io/enforce": level} if level else {}
    ns: core_pb2.Namespace = from_dict(
        core_pb2.Namespace,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}},
    )
    return ns


def _pod(namespace: str, name: str, **spec: Any) -> core_pb2.Pod:
    container = {"name": "app", "image": "busybox:1.35", **spec.pop("container", {})}
    pod: core_pb2.Pod = from_dict(
        core_pb2.Pod,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [container], **spec},
        },
    )
    return pod


HARDENED = {
    "securityContext": {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
}


async def test_a_new_namespace_is_baseline_and_the_system_ones_are_privileged(
    apiserver: ApiServer,
):
    async with ApiClient([apiserver.endpoint]) as api:
        made = await api.create(_namespace("team", None))
        assert made.metadata.labels["pod-security.kubernetes.io/enforce"] == "baseline"
        system = await api.get("namespaces", "", "kube-system")
        assert "pod-security.kubernetes.io/enforce" not in system.metadata.labels
        privileged = {"securityContext": {"privileged": True}}
        await api.create(_pod("kube-system", "agent", container=privileged))
        with pytest.raises(errors.Invalid, match=r"pod-security\.kubernetes\.io/enforce"):
            await api.create(_namespace("odd", "lenient"))


REFUSED = [
    ("baseline", "privileged", {"container": {"securityContext": {"privileged": True}}},
     'privileged (container "app" must not set securityContext.privileged=true)'),
    ("baseline", "hostpath", {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
     'hostPath volumes (volume "root")'),
    ("baseline", "hostnet", {"hostNetwork": True}, "host namespaces (hostNetwork=true)"),
    ("baseline", "hostport", {"container": {"ports": [{"containerPort": 80, "hostPort": 80}]}},
     'hostPort (container "app" uses hostPort 80)'),
    ("baseline", "sysadmin",
     {"container": {"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}},
     'capabilities (container "app" must not include SYS_ADMIN'),
    ("baseline", "hostprocess", {"container": {"securityContext": {"windowsOptions": {
        "hostProcess": True}}}, "hostNetwork": True},
     'hostProcess (container "app" must not set securityContext.windowsOptions.'
     "hostProcess=true)"),
    ("restricted", "root", {}, "runAsNonRoot != true"),
    ("restricted", "escalating", {"container": {"securityContext": {
        **HARDENED["securityContext"], "allowPrivilegeEscalation": True}}},
     "allowPrivilegeEscalation != false"),
    ("restricted", "hostpath2",
     {"container": HARDENED, "volumes": [{"name": "h", "hostPath": {"path": "/etc"}}]},
     'hostPath volumes (volume "h")'),
]  # fmt: skip


@pytest.mark.parametrize(("level", "name", "spec", "message"), REFUSED, ids=[r[1] for r in REFUSED])
async def test_a_pod_breaking_its_namespaces_level_is_forbidden_naming_the_rule(
    apiserver: ApiServer, level: str, name: str, spec: dict[str, Any], message: str
):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(_namespace(level, level))
        with pytest.raises(errors.Forbidden) as refused:
            await api.create(_pod(level, name, **spec))
        assert f'violates PodSecurity "{level}:latest"' in refused.value.message
        assert message in refused.value.message
        assert not (await api.list("pods", level)).items, "nothing stored"


async def test_a_hardened_pod_runs_in_a_restricted_namespace(apiserver: ApiServer):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(_namespace("locked", "restricted"))
        created = await api.create(_pod("locked", "ok", container=HARDENED))
        assert created.metadata.uid

"""Ephemeral containers through the API: `kubectl debug` adds one to a pod with a
strategic merge patch of pods/ephemeralcontainers, the official shape of the call; the
gRPC client's update_ephemeral_containers does the same; they are only ever added."""

from __future__ import annotations

import json

import pytest

from client import errors
from client.api import ApiClient
from proto import core_pb2
from tests.integration.apiserver.kubectl import KUBECTL, Kubectl

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

POD = """
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: app, image: busybox:1.35, command: [sleep, "3600"]}]
"""


def _debugger(name: str = "debugger", target: str = "app") -> core_pb2.EphemeralContainer:
    return core_pb2.EphemeralContainer(
        name=name, image="busybox:1.35", command=["sh"], target_container_name=target
    )


async def _pod(api: ApiClient) -> core_pb2.Pod:
    pod = core_pb2.Pod(api_version="v1", kind="Pod")
    pod.metadata.name, pod.metadata.namespace = "web", "default"
    pod.spec.containers.add(name="app", image="busybox:1.35", command=["sleep", "3600"])
    return await api.create(pod)


async def test_kubectl_debug_adds_an_ephemeral_container_targeting_the_app(
    kubectl: Kubectl,
) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=POD)
    await kubectl.ok(
        "debug", "web", "--image=busybox:1.35", "-c", "dbg", "--target=app", "--", "sh"
    )

    pod = json.loads(await kubectl.ok("get", "pod", "web", "-o", "json"))
    [added] = pod["spec"]["ephemeralContainers"]
    assert added["name"] == "dbg" and added["image"] == "busybox:1.35"
    assert added["targetContainerName"] == "app" and added["command"] == ["sh"]
    # Defaulted as any container is.
    assert added["imagePullPolicy"] == "IfNotPresent"
    assert added["terminationMessagePath"] == "/dev/termination-log"
    assert [c["name"] for c in pod["spec"]["containers"]] == ["app"]

    # A second debug session adds a second container, the first stays; the general
    # profile (kubectl's recommended one) grants the debugger ptrace on its target.
    ran = await kubectl(
        "debug", "web", "--image=busybox:1.35", "-c", "dbg2", "--target=app",
        "--profile=general", "--", "sh",
    )  # fmt: skip
    assert ran.code == 0 and "Warning" not in ran.err, ran.err
    pod = json.loads(await kubectl.ok("get", "pod", "web", "-o", "json"))
    assert [e["name"] for e in pod["spec"]["ephemeralContainers"]] == ["dbg", "dbg2"]
    second = pod["spec"]["ephemeralContainers"][1]
    assert second["securityContext"]["capabilities"]["add"] == ["SYS_PTRACE"]


async def test_kubectl_debug_names_the_field_it_refuses(kubectl: Kubectl) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=POD)

    ran = await kubectl("debug", "web", "--image=busybox:1.35", "-c", "app", "--", "sh")
    assert ran.code != 0
    assert 'spec.ephemeralContainers[0].name: Duplicate value: "app"' in ran.err

    ran = await kubectl("debug", "web", "--image=busybox:1.35", "--target=nope", "--", "sh")
    assert ran.code != 0
    assert 'spec.ephemeralContainers[0].targetContainerName: Not found: "nope"' in ran.err

    pod = json.loads(await kubectl.ok("get", "pod", "web", "-o", "json"))
    assert "ephemeralContainers" not in pod["spec"]


async def test_the_ephemeralcontainers_subresource_reads_the_whole_pod(
    kubectl: Kubectl,
) -> None:
    await kubectl.ok("apply", "-f", "-", stdin=POD)
    got = json.loads(
        await kubectl.ok("get", "--raw", "/api/v1/namespaces/default/pods/web/ephemeralcontainers")
    )
    assert got["kind"] == "Pod" and got["metadata"]["name"] == "web"
    resources = json.loads(await kubectl.ok("get", "--raw", "/api/v1"))["resources"]
    assert "pods/ephemeralcontainers" in {r["name"] for r in resources}


async def test_added_ephemeral_containers_may_not_be_changed_or_removed(api: ApiClient) -> None:
    pod = await _pod(api)
    pod.spec.ephemeral_containers.append(_debugger())
    pod = await api.update_ephemeral_containers(pod)
    assert [e.name for e in pod.spec.ephemeral_containers] == ["debugger"]

    changed = core_pb2.Pod()
    changed.CopyFrom(pod)
    changed.spec.ephemeral_containers[0].image = "busybox:1.28"
    with pytest.raises(errors.Invalid) as refused:
        await api.update_ephemeral_containers(changed)
    assert (
        'spec.ephemeralContainers[0]: Forbidden: existing ephemeral containers "debugger" '
        "may not be changed" in str(refused.value)
    )

    removed = core_pb2.Pod()
    removed.CopyFrom(pod)
    removed.spec.ClearField("ephemeral_containers")
    with pytest.raises(errors.Invalid) as refused:
        await api.update_ephemeral_containers(removed)
    assert 'existing ephemeral containers "debugger" may not be removed' in str(refused.value)

    stored = await api.get("pods", "default", "web")
    assert isinstance(stored, core_pb2.Pod)
    assert [e.image for e in stored.spec.ephemeral_containers] == ["busybox:1.35"]


async def test_the_subresource_writes_only_the_ephemeral_containers(api: ApiClient) -> None:
    pod = await _pod(api)
    pod.spec.ephemeral_containers.append(_debugger())
    pod.metadata.labels["sneaked"] = "in"
    pod.spec.containers[0].image = "busybox:1.28"

    written = await api.update_ephemeral_containers(pod)

    assert "sneaked" not in written.metadata.labels
    assert written.spec.containers[0].image == "busybox:1.35"
    assert [e.name for e in written.spec.ephemeral_containers] == ["debugger"]


async def test_a_pod_update_keeps_the_ephemeral_containers_it_leaves_out(api: ApiClient) -> None:
    pod = await _pod(api)
    pod.spec.ephemeral_containers.append(_debugger())
    pod = await api.update_ephemeral_containers(pod)

    pod.spec.ClearField("ephemeral_containers")
    pod.metadata.labels["team"] = "a"
    updated = await api.update(pod)

    assert updated.metadata.labels["team"] == "a"
    assert [e.name for e in updated.spec.ephemeral_containers] == ["debugger"]


async def test_ephemeral_containers_are_refused_on_create_and_in_templates(
    api: ApiClient, kubectl: Kubectl
) -> None:
    pod = core_pb2.Pod(api_version="v1", kind="Pod")
    pod.metadata.name, pod.metadata.namespace = "early", "default"
    pod.spec.containers.add(name="app", image="busybox:1.35")
    pod.spec.ephemeral_containers.append(_debugger())
    with pytest.raises(errors.Invalid) as refused:
        await api.create(pod)
    assert "spec.ephemeralContainers: Forbidden: cannot be set on create" in str(refused.value)

    ran = await kubectl(
        "apply",
        "-f",
        "-",
        stdin="""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: busybox:1.35}]
      ephemeralContainers: [{name: dbg, image: busybox:1.35}]
""",
    )
    assert ran.code != 0
    assert (
        "spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed "
        "in pod template" in ran.err
    )


async def test_an_ephemeral_container_may_not_carry_ports_probes_or_resources(
    api: ApiClient,
) -> None:
    pod = await _pod(api)
    debugger = _debugger()
    debugger.ports.add(container_port=80)
    debugger.readiness_probe.exec.command.append("true")
    debugger.resources.limits["cpu"] = "1"
    pod.spec.ephemeral_containers.append(debugger)

    with pytest.raises(errors.Invalid) as refused:
        await api.update_ephemeral_containers(pod)

    message = str(refused.value)
    for field in ("ports", "readinessProbe", "resources"):
        assert (
            f"spec.ephemeralContainers[0].{field}: Forbidden: cannot be set for an Ephemeral "
            "Container" in message
        )


async def test_other_kinds_have_no_ephemeralcontainers_subresource(api: ApiClient) -> None:
    cm = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    cm.metadata.name, cm.metadata.namespace = "c", "default"
    cm = await api.create(cm)
    with pytest.raises(errors.NotFound):
        await api._write("Update", cm, dry_run=False, subresource="ephemeralcontainers")


async def test_pod_security_judges_what_a_debugger_adds(kubectl: Kubectl) -> None:
    await kubectl.ok("create", "namespace", "team")  # baseline, as every new namespace
    await kubectl.ok("apply", "-n", "team", "-f", "-", stdin=POD)

    ran = await kubectl(
        "debug", "-n", "team", "web", "--image=busybox:1.35", "-c", "ptrace", "--target=app",
        "--profile=general", "--", "sh",
    )  # fmt: skip
    assert ran.code != 0
    assert 'container "ptrace" must not include SYS_PTRACE' in ran.err, ran.err

    await kubectl.ok(
        "debug", "-n", "team", "web", "--image=busybox:1.35", "-c", "plain", "--profile=baseline",
        "--", "sh",
    )  # fmt: skip
    pod = json.loads(await kubectl.ok("get", "-n", "team", "pod", "web", "-o", "json"))
    assert [e["name"] for e in pod["spec"]["ephemeralContainers"]] == ["plain"]

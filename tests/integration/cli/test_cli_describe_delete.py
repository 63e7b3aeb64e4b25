"""`tug describe`, `tug delete`, `tug create namespace`, `tug version`, `tug cluster-info`."""

from __future__ import annotations

from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2

APP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {index.html: hi}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: busybox:1.35
        readinessProbe:
          httpGet: {path: /, port: 80}
        volumeMounts: [{name: html, mountPath: /www}]
      volumes:
      - name: html
        configMap: {name: web-config}
"""


def field(text: str, key: str) -> str:
    """The value of a top-level `Key:  value` line of a describe page."""
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return line[len(key) + 1 :].strip()
    raise AssertionError(f"no {key!r} line in:\n{text}")


def field_in(text: str, key: str) -> str:
    """The value of an indented `Key:  value` line anywhere on a describe page."""
    for line in text.splitlines():
        if line.strip().startswith(f"{key}:"):
            return line.strip()[len(key) + 1 :].strip()
    raise AssertionError(f"no {key!r} line in:\n{text}")


async def test_describe_deployment_shows_replicas_template_and_events(tug, apiserver):
    await tug("apply", "-f", "-", stdin=APP)
    async with ApiClient([apiserver.endpoint]) as api:
        deploy = await api.get("deployments", "default", "web")
        event = from_dict(core_pb2.Event, {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "default",
                               "uid": deploy.metadata.uid},
            "reason": "ScalingReplicaSet", "message": "Scaled up replica set web-1 to 2",
            "type": "Normal", "count": 1, "source": {"component": "deployment-controller"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
        })
        await api.create(event)
    result = await tug("describe", "deployment", "web")
    assert result.code == 0, result.err
    page = result.out
    assert field(page, "Name") == "web"
    assert field(page, "Namespace") == "default"
    assert field(page, "Replicas").startswith("2 desired")
    assert field(page, "StrategyType") == "RollingUpdate"
    assert field_in(page, "Readiness").startswith("http-get http://:80/ delay=0s")
    assert "/www from html (rw)" in page
    assert "last-applied-configuration" not in page
    events = page[page.index("Events:") :].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert events[3].split()[:2] == ["Normal", "ScalingReplicaSet"]
    assert events[3].endswith("Scaled up replica set web-1 to 2")


async def test_describe_service_shows_ports_and_no_events(tug):
    await tug("apply", "-f", "-", stdin=APP)
    page = (await tug("describe", "svc", "web")).out
    assert field(page, "Type") == "ClusterIP"
    assert field(page, "TargetPort") == "8080/TCP"
    assert field(page, "Port").split() == ["http", "80/TCP"]
    assert field(page, "Events") == "<none>"
    assert (field(page, "IP Family Policy"), field(page, "IP Families")) == ("SingleStack", "IPv4")
    assert field(page, "Internal Traffic Policy") == "Cluster"
    assert "External Traffic Policy" not in page


async def test_describe_a_local_load_balancer_shows_its_policies_and_health_check_port(tug):
    lb = """
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  externalIPs: [192.0.2.9]
  selector: {app: web}
  ports: [{port: 80}]
"""
    await tug("apply", "-f", "-", stdin=lb)
    page = (await tug("describe", "svc", "lb")).out
    assert field(page, "External Traffic Policy") == "Local"
    assert field(page, "External IPs") == "192.0.2.9"
    assert 30000 <= int(field(page, "HealthCheck NodePort")) <= 32767
    assert field(page, "IPs") == field(page, "IP")


async def test_describe_pod_and_a_kind_without_its_own_page(tug, apiserver):
    await tug("apply", "-f", "-", stdin=APP)
    cm = (await tug("describe", "cm", "web-config")).out
    assert field(cm, "Name") == "web-config"
    assert "Data\n====\nindex.html:\n----\nhi\n" in cm
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(from_dict(core_pb2.Pod, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]},
        }))
    pod = (await tug("describe", "pod", "p")).out
    assert field(pod, "Labels") == "app=web"
    assert field(pod, "Status") == "Pending"
    assert "Image:" in pod and "busybox:1.35" in pod


async def test_describe_a_missing_object_is_an_error(tug):
    result = await tug("describe", "pod", "ghost")
    assert (result.code, result.err) == (1, 'error: pods "ghost" not found\n')


async def test_delete_by_name_prints_kubectls_line(tug):
    await tug("apply", "-f", "-", stdin=APP)
    result = await tug("delete", "deployment", "web")
    assert (result.code, result.out) == (0, 'deployment.apps "web" deleted\n')
    assert (await tug("get", "deploy", "web")).code == 1


async def test_delete_by_file_deletes_every_object_it_names(tug, write):
    path = write("app.yaml", APP)
    await tug("apply", "-f", str(path))
    result = await tug("delete", "-f", str(path), "--wait")
    assert result.code == 0, result.err
    assert result.out == (
        'configmap "web-config" deleted\nservice "web" deleted\ndeployment.apps "web" deleted\n'
    )
    assert (await tug("get", "all")).err.startswith("No resources found")


async def test_deleting_what_is_not_there_is_an_error_unless_ignored(tug):
    result = await tug("delete", "cm", "ghost")
    assert (result.code, result.err) == (1, 'error: configmaps "ghost" not found\n')
    assert (await tug("delete", "cm", "ghost", "--ignore-not-found")).code == 0


async def test_create_namespace_then_it_is_listed(tug):
    result = await tug("create", "namespace", "team-a")
    assert (result.code, result.out) == (0, "namespace/team-a created\n")
    again = await tug("create", "namespace", "team-a")
    assert again.code == 1 and "already exists" in again.err


async def test_version_and_cluster_info_report_the_server_health(tug, apiserver):
    version = await tug("version")
    assert version.code == 0
    assert version.out.startswith("Client Version: v")
    assert f"Server {apiserver.endpoint}: SERVING" in version.out
    info = await tug("cluster-info")
    assert info.out == f"Tugboat API server is running at {apiserver.endpoint} (SERVING)\n"


async def test_an_unreachable_server_is_a_clear_error(tug, tug_home):
    from tests.support.ports import free_port

    dead = f"127.0.0.1:{free_port()}"
    result = await tug("get", "pods", "--server", dead, "--request-timeout", "2s", server=False)
    assert result.code == 1
    assert result.err.startswith(f"error: cannot reach any API server ({dead}): ")


async def test_describe_node_shows_conditions_capacity_and_its_pods(tug, apiserver):
    async with ApiClient([apiserver.endpoint]) as api:
        node = await api.create(from_dict(core_pb2.Node, {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/worker": ""}},
        }))
        node.status.MergeFrom(from_dict(core_pb2.NodeStatus, {
            "capacity": {"cpu": "2", "memory": "4Gi"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.2"}],
            "nodeInfo": {"kubeletVersion": "v0.1.0"},
        }))
        await api.update_status(node)
        await api.create(from_dict(core_pb2.Pod, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1.35"}]},
        }))
    page = (await tug("describe", "node", "n1")).out
    assert field(page, "Roles") == "worker"
    assert field_in(page, "InternalIP") == "127.0.0.2"
    assert field_in(page, "cpu") == "2"
    assert field(page, "Non-terminated Pods") == "(1 in total)"
    table = (await tug("get", "nodes")).out.splitlines()
    assert table[1].split()[:3] == ["n1", "Ready", "worker"]


async def test_delete_now_removes_an_unscheduled_pod_at_once(tug, apiserver):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(from_dict(core_pb2.Pod, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]},
        }))
    result = await tug("delete", "pod", "p", "--now", "--wait", "--timeout", "10")
    assert (result.code, result.out, result.err) == (0, 'pod "p" deleted\n', "")
    assert (await tug("get", "pods")).err == "No resources found in default namespace.\n"

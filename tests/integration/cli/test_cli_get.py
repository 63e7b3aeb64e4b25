"""`tug get`: kubectl's tables, names, yaml/json, selectors, several kinds, watching."""

from __future__ import annotations

import asyncio
import io
import json

import yaml

from cli.main import run
from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2
from tests.support.waiting import eventually

APP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, labels: {app: web}}
data: {index.html: hi, extra: x}
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 80, nodePort: 30080}]
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
      containers: [{name: web, image: busybox:1.35}]
"""


def pod(name: str, labels: dict[str, str] | None = None) -> core_pb2.Pod:
    return from_dict(core_pb2.Pod, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}]},
    })


async def test_an_empty_namespace_says_no_resources_found_on_stderr(tug):
    result = await tug("get", "pods")
    assert (result.code, result.out, result.err) == (
        0, "", "No resources found in default namespace.\n")


async def test_pods_print_kubectls_columns(tug, apiserver):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(pod("web-1"))
    result = await tug("get", "po")
    lines = result.out.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split()[:4] == ["web-1", "0/1", "Pending", "0"]
    wide = (await tug("get", "pods", "-o", "wide")).out.splitlines()
    assert wide[0].split()[5:7] == ["IP", "NODE"]


async def test_all_namespaces_adds_a_namespace_column(tug, apiserver):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(pod("web-1"))
    lines = (await tug("get", "pods", "-A")).out.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert lines[1].split()[:2] == ["default", "web-1"]


async def test_a_label_selector_filters_and_show_labels_prints_them(tug, apiserver):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(pod("a", {"app": "web"}))
        await api.create(pod("b", {"app": "db"}))
    result = await tug("get", "pods", "-l", "app=web", "--show-labels")
    lines = result.out.splitlines()
    assert [line.split()[0] for line in lines] == ["NAME", "a"]
    assert lines[0].split()[-1] == "LABELS" and lines[1].split()[-1] == "app=web"


async def test_several_kinds_print_one_table_each_with_qualified_names(tug):
    await tug("apply", "-f", "-", stdin=APP)
    result = await tug("get", "deploy,svc")
    blocks = result.out.split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].splitlines()[1].split()[:2] == ["deployment.apps/web", "0/2"]
    svc = blocks[1].splitlines()[1].split()
    assert svc[0] == "service/web" and svc[1] == "NodePort" and svc[4] == "80:30080/TCP"


async def test_get_all_lists_workloads_and_services(tug):
    await tug("apply", "-f", "-", stdin=APP)
    result = await tug("get", "all")
    names = [line.split()[0] for line in result.out.splitlines() if line and "NAME" not in line]
    assert names == ["service/web", "deployment.apps/web"]


async def test_configmaps_show_their_key_count(tug):
    await tug("apply", "-f", "-", stdin=APP)
    lines = (await tug("get", "configmaps")).out.splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    assert lines[1].split()[:2] == ["web-config", "2"]


async def test_name_output_and_kind_slash_name_arguments(tug):
    await tug("apply", "-f", "-", stdin=APP)
    result = await tug("get", "deploy/web", "svc/web", "-o", "name")
    assert result.out == "deployment.apps/web\nservice/web\n"


async def test_yaml_of_one_object_is_the_object_and_of_several_a_list(tug):
    await tug("apply", "-f", "-", stdin=APP)
    one = yaml.safe_load((await tug("get", "svc", "web", "-o", "yaml")).out)
    assert (one["kind"], one["apiVersion"], one["metadata"]["name"]) == ("Service", "v1", "web")
    many = json.loads((await tug("get", "cm,svc", "-o", "json")).out)
    assert many["kind"] == "List"
    assert {i["kind"] for i in many["items"]} == {"ConfigMap", "Service"}


async def test_a_missing_name_is_an_error_naming_it(tug):
    result = await tug("get", "deploy", "nope")
    assert result.code == 1
    assert result.err == 'error: deployments.apps "nope" not found\n'


async def test_an_unknown_kind_is_an_error(tug):
    result = await tug("get", "gadgets")
    assert result.code == 1
    assert result.err == 'error: the server doesn\'t have a resource type "gadgets"\n'


async def test_cluster_scoped_kinds_ignore_the_namespace(tug):
    lines = (await tug("get", "ns")).out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "AGE"]
    assert "default" in [line.split()[0] for line in lines[1:]]


async def test_watch_prints_the_table_then_a_line_per_change(tug, apiserver):
    async with ApiClient([apiserver.endpoint]) as api:
        await api.create(pod("first"))
        out, err = io.StringIO(), io.StringIO()
        argv = ["get", "pods", "-w", "--server", apiserver.endpoint]
        watcher = asyncio.create_task(run(argv, stdout=out, stderr=err))
        try:
            await eventually(lambda: "first" in out.getvalue(), what="the initial table")
            await api.create(pod("second"))
            await eventually(lambda: "second" in out.getvalue(), what="the watch line")
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("NAME")
    assert [line.split()[0] for line in lines[1:3]] == ["first", "second"]


async def test_watch_ends_at_the_request_timeout(tug):
    result = await tug("get", "cm", "-w", "--request-timeout", "1s")
    assert result.code == 0


async def test_watch_from_nothing_prints_the_header_with_the_first_event(tug, apiserver):
    async with ApiClient([apiserver.endpoint]) as api:
        out, err = io.StringIO(), io.StringIO()
        argv = ["get", "pods", "-w", "--server", apiserver.endpoint]
        watcher = asyncio.create_task(run(argv, stdout=out, stderr=err))
        try:
            await eventually(lambda: "No resources found" in err.getvalue() or watcher.done(),
                             what="the empty listing")
            await api.create(pod("late"))
            await eventually(lambda: "late" in out.getvalue(), what="the watch line")
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:2] == ["NAME", "READY"]
    assert lines[1].split()[0] == "late"

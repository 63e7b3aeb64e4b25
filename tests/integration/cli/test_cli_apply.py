"""`tug apply`: create, configure, leave unchanged; the three-way rule; errors by file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels:
    app: web
    tier: front
data:
  greeting: hello
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: busybox:1.35
        ports:
        - containerPort: 80
"""


async def test_applying_the_same_file_twice_prints_unchanged(tug, write):
    path = write("cm.yaml", CONFIGMAP)
    first = await tug("apply", "-f", str(path))
    assert (first.code, first.out, first.err) == (0, "configmap/settings created\n", "")
    second = await tug("apply", "-f", str(path))
    assert (second.code, second.out) == (0, "configmap/settings unchanged\n")


async def test_a_deployment_with_server_defaults_is_unchanged_on_the_second_apply(tug, write):
    path = write("deploy.yaml", DEPLOYMENT)
    assert (await tug("apply", "-f", str(path))).out == "deployment.apps/web created\n"
    again = await tug("apply", "-f", str(path))
    assert (again.code, again.out) == (0, "deployment.apps/web unchanged\n")


async def test_removing_a_label_from_the_file_removes_it_from_the_object(tug, write):
    path = write("cm.yaml", CONFIGMAP)
    await tug("apply", "-f", str(path))
    path.write_text(CONFIGMAP.replace("    tier: front\n", "").replace("hello", "bonjour"))
    result = await tug("apply", "-f", str(path))
    assert (result.code, result.out) == (0, "configmap/settings configured\n")
    got = yaml.safe_load((await tug("get", "cm", "settings", "-o", "yaml")).out)
    assert got["metadata"]["labels"] == {"app": "web"}
    assert got["data"] == {"greeting": "bonjour"}


async def test_a_label_someone_else_added_survives_apply(tug, write, apiserver):
    from client.api import ApiClient

    path = write("cm.yaml", CONFIGMAP)
    await tug("apply", "-f", str(path))
    async with ApiClient([apiserver.endpoint]) as api:
        live = await api.get("configmaps", "default", "settings")
        live.metadata.labels["owner"] = "ops"
        await api.update(live)
    path.write_text(CONFIGMAP.replace("hello", "hi"))
    assert (await tug("apply", "-f", str(path))).out == "configmap/settings configured\n"
    got = yaml.safe_load((await tug("get", "cm", "settings", "-o", "yaml")).out)
    assert got["metadata"]["labels"] == {"app": "web", "tier": "front", "owner": "ops"}


async def test_a_directory_is_applied_file_by_file_in_name_order(tug, write):
    write("b-deploy.yaml", DEPLOYMENT)
    path = write("a-cm.yaml", CONFIGMAP)
    result = await tug("apply", "-f", str(path.parent))
    assert result.code == 0
    assert result.out == "configmap/settings created\ndeployment.apps/web created\n"


async def test_stdin_is_applied_with_dash(tug):
    result = await tug("apply", "-f", "-", stdin=CONFIGMAP + "---\n" + DEPLOYMENT)
    assert result.code == 0
    assert result.out == "configmap/settings created\ndeployment.apps/web created\n"


async def test_the_namespace_comes_from_the_flag_when_the_manifest_has_none(tug, write):
    await tug("create", "namespace", "team-a")
    path = write("cm.yaml", CONFIGMAP)
    assert (await tug("apply", "-f", str(path), "-n", "team-a")).code == 0
    assert (await tug("get", "cm", "settings", "-n", "team-a", "-o", "name")).out == (
        "configmap/settings\n"
    )
    missing = await tug("get", "cm", "settings")
    assert missing.code == 1 and "not found" in missing.err


def _declared(doc: dict[str, Any]) -> dict[str, Any]:
    """An object without what the server sets anew on each create."""
    meta = {
        k: v
        for k, v in doc["metadata"].items()
        if k not in ("uid", "resourceVersion", "creationTimestamp", "annotations", "generation")
    }
    return {**doc, "metadata": meta}


async def test_output_yaml_round_trips_through_apply(tug, write):
    await tug("apply", "-f", str(write("deploy.yaml", DEPLOYMENT)))
    dumped = (await tug("get", "deploy", "web", "-o", "yaml")).out
    original = yaml.safe_load(dumped)
    path = write("dumped.yaml", dumped)
    # Over the live object: the dump declares the server's defaults too, nothing else moves.
    assert (await tug("apply", "-f", str(path))).code == 0
    assert (await tug("apply", "-f", str(path))).out == "deployment.apps/web unchanged\n"
    # Into a fresh cluster state: the same object comes back.
    assert (await tug("delete", "deploy", "web")).code == 0
    result = await tug("apply", "-f", str(path))
    assert (result.code, result.out, result.err) == (0, "deployment.apps/web created\n", "")
    again = yaml.safe_load((await tug("get", "deploy", "web", "-o", "yaml")).out)
    assert _declared(again) == _declared(original)


BAD_PORT = """
apiVersion: v1
kind: ConfigMap
metadata: {name: good-one}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  selector: {matchLabels: {app: b}}
  template:
    metadata: {labels: {app: b}}
    spec:
      containers:
      - name: b
        image: busybox:1.35
        ports:
        - containerPort: eighty
---
apiVersion: v1
kind: ConfigMap
metadata: {name: good-two}
"""


async def test_a_bad_document_is_named_with_its_file_index_and_field_and_the_rest_applies(
    tug, write
):
    path = write("mixed.yaml", BAD_PORT)
    result = await tug("apply", "-f", str(path))
    assert result.code == 1
    assert result.err.startswith(
        f"error: {path} (document 2): spec.template.spec.containers[0].ports[0].containerPort: "
    )
    assert result.out == "configmap/good-one created\nconfigmap/good-two created\n"
    missing = await tug("get", "deploy", "broken")
    assert missing.code == 1


async def test_an_unknown_field_is_an_error_and_nothing_is_written(tug, write):
    path = write("cm.yaml", CONFIGMAP.replace("\ndata:", "\ndta:"))
    result = await tug("apply", "-f", str(path))
    assert result.code == 1
    assert result.err == f"error: {path} (document 1): dta: unknown field\n"
    assert result.out == ""
    assert (await tug("get", "configmaps")).err == "No resources found in default namespace.\n"


async def test_an_unknown_kind_names_the_kind_field(tug, write):
    path = write("x.yaml", "apiVersion: v1\nkind: Gadget\nmetadata: {name: g}\n")
    result = await tug("apply", "-f", str(path))
    assert result.code == 1
    assert result.err.startswith(f"error: {path} (document 1): kind: ")


async def test_a_yaml_syntax_error_names_the_file_and_line(tug, write):
    path = write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n")
    result = await tug("apply", "-f", str(path))
    assert result.code == 1
    assert result.err.startswith(f"error: {path} (document 1): YAML syntax error at line")


async def test_a_server_side_validation_error_is_printed_with_its_file_and_document(tug, write):
    path = write("bad-name.yaml", CONFIGMAP.replace("name: settings", "name: Not_A_Name"))
    result = await tug("apply", "-f", str(path))
    assert result.code == 1
    assert result.err.startswith(f"error: {path} (document 1): ")
    assert "metadata.name" in result.err
    assert result.out == ""


async def test_a_missing_file_is_an_error(tug, tmp_path):
    result = await tug("apply", "-f", str(tmp_path / "nope.yaml"))
    assert result.code == 1
    assert result.err == f'error: the path "{tmp_path / "nope.yaml"}" does not exist\n'


EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


async def test_the_examples_apply_cleanly_and_a_second_apply_changes_nothing(tug):
    first = await tug("apply", "-f", str(EXAMPLES))
    assert first.code == 0, first.err
    assert first.out.splitlines() == [
        "configmap/web-content created",
        "configmap/backend-data created",
        "deployment.apps/backend created",
        "service/backend created",
        "deployment.apps/web created",
        "service/web created",
    ]
    second = await tug("apply", "-f", str(EXAMPLES))
    assert second.code == 0, second.err
    assert all(line.endswith(" unchanged") for line in second.out.splitlines())

"""Manifest loading: files, directories, stdin, Lists; every error names file, document, field."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from client.manifests import ManifestError, load_manifests
from proto import core_pb2, workloads_pb2

DEPLOYMENT = """\
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

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: http
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_multi_document_file_gives_every_object_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "web.yaml", DEPLOYMENT + "---\n" + SERVICE)
    found = load_manifests(str(path))
    assert [(m.kind.kind, m.index, m.obj.metadata.name) for m in found] == [
        ("Deployment", 1, "web"),
        ("Service", 2, "web"),
    ]
    deployment = found[0].obj
    assert isinstance(deployment, workloads_pb2.Deployment)
    assert deployment.spec.template.spec.containers[0].ports[0].container_port == 80
    service = found[1].obj
    assert isinstance(service, core_pb2.Service)
    assert service.spec.ports[0].target_port.str_val == "http"
    assert found[1].raw["kind"] == "Service"
    assert found[0].source == str(path)


def test_empty_documents_are_skipped_but_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "---\n# just a comment\n---\n" + SERVICE + "---\n")
    found = load_manifests(path)
    assert len(found) == 1
    assert found[0].index == 2


def test_a_directory_gives_its_manifest_files_sorted_and_not_recursively(tmp_path: Path) -> None:
    write(tmp_path, "b.yml", SERVICE)
    write(tmp_path, "a.yaml", DEPLOYMENT)
    write(
        tmp_path, "c.json", '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}'
    )
    write(tmp_path, "notes.txt", "not a manifest")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "d.yaml", SERVICE.replace("name: web", "name: deep"))
    found = load_manifests(tmp_path)
    assert [(Path(m.source).name, m.kind.kind) for m in found] == [
        ("a.yaml", "Deployment"),
        ("b.yml", "Service"),
        ("c.json", "Namespace"),
    ]


def test_dash_reads_stdin() -> None:
    found = load_manifests("-", stdin=io.StringIO(SERVICE))
    assert [(m.source, m.kind.kind) for m in found] == [("<stdin>", "Service")]


def test_a_list_is_expanded_into_its_items(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}, data: {a: "1"}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: two}}
"""
    found = load_manifests(write(tmp_path, "list.yaml", text))
    assert [m.obj.metadata.name for m in found] == ["one", "two"]
    assert all(m.index == 1 for m in found)
    assert found[0].raw["metadata"] == {"name": "one"}


BAD_MANIFESTS = [
    pytest.param(
        SERVICE + "---\n" + DEPLOYMENT.replace("containerPort: 80", "containerPort: eighty"),
        "(document 2): spec.template.spec.containers[0].ports[0].containerPort: "
        "expected an integer, got string",
        id="a string where an integer belongs",
    ),
    pytest.param(
        "kind: Service\nmetadata: {name: a}\n",
        "(document 1): apiVersion: required field is missing",
        id="missing apiVersion",
    ),
    pytest.param(
        "apiVersion: v1\nmetadata: {name: a}\n",
        "(document 1): kind: required field is missing",
        id="missing kind",
    ),
    pytest.param(
        "apiVersion: v1\nkind: Gizmo\nmetadata: {name: a}\n",
        '(document 1): kind: no matches for kind "Gizmo" in version "v1"',
        id="unknown kind",
    ),
    pytest.param(
        "apiVersion: v1\nkind: Deployment\nmetadata: {name: a}\n",
        '(document 1): kind: no matches for kind "Deployment" in version "v1"',
        id="kind under the wrong apiVersion",
    ),
    pytest.param(
        SERVICE.replace("  selector:", "  selectr:"),
        "(document 1): spec.selectr: unknown field",
        id="unknown field",
    ),
    pytest.param(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: a: b\n",
        "(document 2): YAML syntax error at line 5, column 8: mapping values are not allowed",
        id="YAML syntax error with its line",
    ),
    pytest.param(
        "- just\n- a list\n",
        "(document 1): expected an object with apiVersion and kind, got an array",
        id="a document that is not an object",
    ),
    pytest.param(
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap,"
        " metadata: {name: a}, data: {a: [1]}}\n",
        "(document 1): items[0].data[a]: expected a string",
        id="a bad field inside a List item",
    ),
    pytest.param(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n",
        "(document 1): metadata.name: name or generateName is required",
        id="missing name",
    ),
    pytest.param(
        "apiVersion: 1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "(document 1): apiVersion: expected a string, got number 1",
        id="apiVersion that is a number",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_MANIFESTS)
def test_every_error_names_the_file_the_document_and_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ManifestError) as caught:
        load_manifests(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path} (document "), message
    assert expected in message, message


def test_a_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", '{\n  "apiVersion": "v1",\n  "kind": \n}\n')
    expected = r"bad.json \(document 1\): JSON syntax error at line 4"
    with pytest.raises(ManifestError, match=expected):
        load_manifests(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ManifestError, match=r"nope.yaml: the path does not exist"):
        load_manifests(missing)


def test_stdin_errors_name_stdin() -> None:
    with pytest.raises(ManifestError, match=r"^<stdin> \(document 1\): kind: required field"):
        load_manifests("-", stdin=io.StringIO("apiVersion: v1\n"))


def test_a_bad_file_in_a_directory_is_named(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", SERVICE)
    write(tmp_path, "b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: 5x}\nspec: 3\n")
    with pytest.raises(ManifestError, match=r"b.yaml \(document 1\): spec: expected an object"):
        load_manifests(tmp_path)

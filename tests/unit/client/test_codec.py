"""Manifests (dicts) to messages and back, with errors that name the field."""

import pytest

from client import codec, kinds
from proto import certificates_pb2, core_pb2, workloads_pb2

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "busybox:1.35",
                        "ports": [{"containerPort": 80, "name": "http"}],
                        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                        "resources": {"requests": {"cpu": "100m"}},
                    }
                ],
                "volumes": [{"name": "scratch", "emptyDir": {}}],
            },
        },
    },
}


def test_a_deployment_manifest_round_trips_unchanged() -> None:
    msg = codec.from_dict(workloads_pb2.Deployment, DEPLOYMENT)
    assert codec.to_dict(msg) == DEPLOYMENT


def test_int_or_string_fields_keep_the_form_given() -> None:
    msg = codec.from_dict(workloads_pb2.Deployment, DEPLOYMENT)
    rolling = msg.spec.strategy.rolling_update
    assert rolling.max_surge.str_val == "25%"
    assert rolling.max_unavailable.WhichOneof("value") == "int_val"
    probe_port = msg.spec.template.spec.containers[0].readiness_probe.http_get.port
    assert probe_port.str_val == "http"


def test_kubernetes_json_names_with_acronyms_are_honoured() -> None:
    pod = codec.from_dict(core_pb2.Pod, {"status": {"podIP": "10.0.0.1", "hostIP": "127.0.0.2"}})
    assert pod.status.pod_ip == "10.0.0.1"
    assert codec.to_dict(pod) == {"status": {"podIP": "10.0.0.1", "hostIP": "127.0.0.2"}}


def test_secret_data_is_base64_in_manifests_and_raw_bytes_in_messages() -> None:
    secret = codec.from_dict(core_pb2.Secret, {"data": {"password": "aHVudGVyMg=="}})
    assert secret.data["password"] == b"hunter2"
    assert codec.to_dict(secret) == {"data": {"password": "aHVudGVyMg=="}}


def test_a_csrs_extra_is_a_map_of_bare_string_lists_as_in_kubernetes_json() -> None:
    doc = {"spec": {"extra": {"scopes": ["read", "write"], "none": []}}}
    csr = codec.from_dict(certificates_pb2.CertificateSigningRequest, doc)
    assert list(csr.spec.extra["scopes"].items) == ["read", "write"]
    assert codec.to_dict(csr) == {"spec": {"extra": {"none": [], "scopes": ["read", "write"]}}}
    with pytest.raises(codec.FieldError, match=r"spec\.extra\[scopes\]: expected an array"):
        codec.from_dict(
            certificates_pb2.CertificateSigningRequest, {"spec": {"extra": {"scopes": "read"}}}
        )


def test_null_values_count_as_absent() -> None:
    msg = codec.from_dict(core_pb2.ConfigMap, {"metadata": {"name": "x", "labels": None}})
    assert codec.to_dict(msg) == {"metadata": {"name": "x"}}


def test_a_quantity_may_be_written_as_a_number_and_is_kept_as_its_decimal_text() -> None:
    resources = {"requests": {"cpu": 1, "memory": 1e3}, "limits": {"example.com/dongle": 0.5}}
    msg = codec.from_dict(core_pb2.ResourceRequirements, resources)
    assert dict(msg.requests) == {"cpu": "1", "memory": "1000"}
    assert dict(msg.limits) == {"example.com/dongle": "0.5"}
    volume = codec.from_dict(core_pb2.Volume, {"name": "v", "emptyDir": {"sizeLimit": 1e-5}})
    assert volume.empty_dir.size_limit == "0.00001"


def test_a_number_in_a_string_field_that_is_not_a_quantity_is_refused() -> None:
    with pytest.raises(codec.FieldError) as caught:
        codec.from_dict(core_pb2.EnvVar, {"name": "N", "value": 1})
    assert caught.value.path == "value"
    with pytest.raises(codec.FieldError):
        codec.from_dict(core_pb2.ResourceRequirements, {"requests": {"cpu": True}})


def test_an_explicitly_empty_object_is_kept() -> None:
    msg = codec.from_dict(core_pb2.Volume, {"name": "v", "emptyDir": {}})
    assert msg.HasField("empty_dir")


@pytest.mark.parametrize(
    ("doc", "path", "detail"),
    [
        pytest.param(
            {"spec": {"containers": [{"name": "a", "imagee": "x"}]}},
            "spec.containers[0].imagee",
            "unknown field",
            id="a misspelt container field is an unknown field",
        ),
        pytest.param(
            {"spec": {"containers": [{"ports": [{"containerPort": "eighty"}]}]}},
            "spec.containers[0].ports[0].containerPort",
            "expected an integer",
            id="a string where an integer belongs",
        ),
        pytest.param(
            {"spec": {"containers": {"name": "a"}}},
            "spec.containers",
            "expected an array",
            id="an object where a list belongs",
        ),
        pytest.param(
            {"metadata": {"labels": ["a"]}},
            "metadata.labels",
            "expected an object",
            id="a list where a map belongs",
        ),
        pytest.param(
            {"spec": {"hostNetwork": "yes"}},
            "spec.hostNetwork",
            "expected true or false",
            id="a string where a boolean belongs",
        ),
        pytest.param(
            {"spec": {"containers": [{"livenessProbe": {"tcpSocket": {"port": [1]}}}]}},
            "spec.containers[0].livenessProbe.tcpSocket.port",
            "expected an integer or a string",
            id="a list where an int-or-string belongs",
        ),
        pytest.param(
            {"spec": {"priority": 2**40}},
            "spec.priority",
            "out of range",
            id="an integer too large for its field",
        ),
    ],
)
def test_a_bad_value_names_its_field_path(doc: dict[str, object], path: str, detail: str) -> None:
    with pytest.raises(codec.FieldError) as caught:
        codec.from_dict(core_pb2.Pod, doc)
    assert caught.value.path == path
    assert detail in str(caught.value)


def test_bad_base64_in_secret_data_is_an_error_naming_the_key() -> None:
    with pytest.raises(codec.FieldError, match=r"data\[password\]: illegal base64"):
        codec.from_dict(core_pb2.Secret, {"data": {"password": "not base64!"}})


@pytest.mark.parametrize("alias", ["deploy", "deployment", "deployments", "Deployment",
                                   "deployment.apps", "deployments.apps"])
def test_every_kubectl_spelling_of_a_kind_resolves(alias: str) -> None:
    assert kinds.resolve(alias).resource == "deployments"


def test_a_kind_in_the_wrong_api_version_is_refused_with_the_served_version() -> None:
    with pytest.raises(kinds.UnknownKindError, match='serves Deployment as "apps/v1"'):
        kinds.by_kind("extensions/v1beta1", "Deployment")


def test_every_kind_has_a_unique_resource_and_short_names() -> None:
    seen: set[str] = set()
    for k in kinds.KINDS:
        for name in (k.resource, *k.short_names):
            assert name not in seen
            seen.add(name)
        assert k.new().kind == k.kind

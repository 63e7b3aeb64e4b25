"""Kubernetes' protobuf bodies decode into the dict the same object's JSON would be."""

from __future__ import annotations

import pytest

from master.apiserver.rest import kubeproto
from proto import core_pb2


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + value_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def value_varint(n: int) -> bytes:
    return varint(n)


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return kubeproto.MAGIC + field(1, type_meta) + field(2, raw)


def meta(name: str) -> bytes:
    # As Go writes it: every non-pointer field, empty ones too, and the zero Time.
    return field(1, name) + field(2, "") + field(3, "") + field(4, "") + field(7, 0) + field(8, b"")


def test_a_configmap_keeps_its_data_and_loses_the_empty_fields_tugboat_lacks():
    raw = field(1, meta("cm")) + field(2, field(1, "a") + field(2, "b")) + field(4, 0)
    data = kubeproto.decode(envelope("v1", "ConfigMap", raw))
    pruned = kubeproto.prune(data, core_pb2.ConfigMap.DESCRIPTOR)
    assert pruned["apiVersion"] == "v1"
    assert pruned["kind"] == "ConfigMap"
    assert pruned["data"] == {"a": "b"}
    assert "selfLink" not in pruned["metadata"]  # written empty by Go, not a Tugboat field
    assert "creationTimestamp" not in pruned["metadata"]  # the zero time is no time


def test_secret_bytes_become_base64_as_in_json():
    raw = field(1, meta("s")) + field(2, field(1, "user") + field(2, b"ann"))
    assert kubeproto.decode(envelope("v1", "Secret", raw))["data"] == {"user": "YW5u"}


def test_a_csrs_request_is_base64_and_its_extra_a_map_of_bare_lists_as_in_json():
    extra = field(1, "scopes") + field(2, field(1, "read") + field(1, "write"))
    spec = field(1, b"PEM") + field(6, extra) + field(7, "example.com/signer")
    raw = field(1, meta("csr")) + field(2, spec)
    data = kubeproto.decode(envelope("certificates.k8s.io/v1", "CertificateSigningRequest", raw))
    assert data["spec"] == {
        "request": "UEVN",
        "extra": {"scopes": ["read", "write"]},
        "signerName": "example.com/signer",
    }


def test_int_or_string_keeps_its_form_and_negative_numbers_survive():
    number = field(1, 0) + field(2, 8080)
    named = field(1, 1) + field(3, "http")
    port = field(3, 80) + field(4, number)
    other = field(3, 81) + field(4, named)
    raw = field(1, meta("svc")) + field(2, field(1, port) + field(1, other))
    ports = kubeproto.decode(envelope("v1", "Service", raw))["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in ports] == [(80, 8080), (81, "http")]
    probe = field(3, -5)  # a negative int32 is ten bytes of two's complement on the wire
    assert kubeproto.decode_message("k8s.io.api.core.v1.Probe", probe) == {"timeoutSeconds": -5}


def test_an_embedded_struct_is_flattened_into_its_parent_as_json_does():
    # Volume{name, volumeSource{configMap{localObjectReference{name}, defaultMode}}}
    config_map = field(1, field(1, "cfg")) + field(3, 420)
    volume = field(1, "conf") + field(2, field(19, config_map))
    assert kubeproto.decode_message("k8s.io.api.core.v1.Volume", volume) == {
        "name": "conf",
        "configMap": {"name": "cfg", "defaultMode": 420},
    }


def test_a_generic_ephemeral_volume_decodes_with_its_claim_template():
    # Volume{name, volumeSource{ephemeral{volumeClaimTemplate{metadata{labels}, spec}}}}
    requests = field(2, field(1, "storage") + field(2, field(1, "1Gi")))
    spec = field(1, "ReadWriteOnce") + field(2, requests) + field(5, "local-path")
    labels = field(11, field(1, "type") + field(2, "scratch"))
    template = field(1, labels) + field(2, spec)
    volume = field(1, "scratch") + field(2, field(29, field(1, template)))
    decoded = kubeproto.decode_message("k8s.io.api.core.v1.Volume", volume)
    assert kubeproto.prune(decoded, core_pb2.Volume.DESCRIPTOR) == {
        "name": "scratch",
        "ephemeral": {
            "volumeClaimTemplate": {
                "metadata": {"labels": {"type": "scratch"}},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                    "storageClassName": "local-path",
                },
            }
        },
    }


def test_a_source_tugboat_does_not_model_reaches_strict_decoding_by_its_json_name():
    volume = field(1, "disk") + field(2, field(8, field(1, "iqn")))  # iscsi
    decoded = kubeproto.decode_message("k8s.io.api.core.v1.Volume", volume)
    pruned = kubeproto.prune(decoded, core_pb2.Volume.DESCRIPTOR)
    assert set(pruned) == {"name", "iscsi"}


def test_a_creation_time_becomes_rfc3339():
    stamp = field(1, 1_700_000_000)
    decoded = kubeproto.decode_message(
        "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", field(8, stamp)
    )
    assert decoded == {"creationTimestamp": "2023-11-14T22:13:20Z"}


def test_a_non_empty_field_unknown_to_the_wire_table_is_refused_by_number():
    unknown = r"field 99 of k8s\.io\.api\.core\.v1\.ConfigMap"
    with pytest.raises(kubeproto.ProtobufError, match=unknown):
        kubeproto.decode(envelope("v1", "ConfigMap", field(99, "x")))


def test_a_body_without_the_prefix_or_of_an_unknown_kind_is_refused():
    with pytest.raises(kubeproto.ProtobufError, match="prefix"):
        kubeproto.decode(b"{}")
    with pytest.raises(kubeproto.ProtobufError, match="cannot be decoded"):
        kubeproto.decode(envelope("example.com/v1", "Widget", b""))


def test_an_eviction_carries_its_delete_options():
    options = field(1, 30) + field(2, field(1, "uid-1"))
    raw = field(1, meta("p")) + field(2, options)
    eviction = kubeproto.decode(envelope("policy/v1", "Eviction", raw))
    assert eviction["deleteOptions"] == {
        "gracePeriodSeconds": 30,
        "preconditions": {"uid": "uid-1"},
    }

"""A request's object as the API server decodes it: unknown protobuf fields are named."""

from __future__ import annotations

import pytest

from client import errors, kinds
from master.apiserver.requests import decode_request
from proto import core_pb2

PODS = kinds.by_resource("pods")
UNKNOWN_999 = bytes([0xB8, 0x3E, 0x01])
"""Field 999, a varint of 1: a field no Tugboat message has."""


def pod_bytes(container_extra: bytes = b"", pod_extra: bytes = b"") -> bytes:
    container = core_pb2.Container(name="app", image="busybox").SerializeToString()
    container += container_extra
    spec = bytes([0x0A, len(container)]) + container  # PodSpec.containers = 1
    pod = core_pb2.Pod()
    pod.metadata.name = "web"
    head = pod.SerializeToString()
    spec_field = core_pb2.Pod.DESCRIPTOR.fields_by_name["spec"].number
    return head + bytes([spec_field << 3 | 2, len(spec)]) + spec + pod_extra


def test_a_pod_without_unknown_fields_decodes_with_its_kind_set() -> None:
    pod = decode_request(PODS, pod_bytes())
    assert isinstance(pod, core_pb2.Pod)
    assert (pod.api_version, pod.kind, pod.metadata.name) == ("v1", "Pod", "web")
    assert [c.image for c in pod.spec.containers] == ["busybox"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"pod_extra": UNKNOWN_999}, "#999"),
        ({"container_extra": UNKNOWN_999}, "spec.containers[0].#999"),
    ],
)
def test_an_unknown_field_is_refused_by_its_path(extra: dict[str, bytes], named: str) -> None:
    with pytest.raises(errors.Invalid) as refused:
        decode_request(PODS, pod_bytes(**extra))
    assert refused.value.message == (
        f"the request's Pod has fields this server does not know: {named} "
        "(client and server API versions differ?)"
    )

"""Random objects of every kind, created and updated through a real API server.

Whatever arrives, the server answers with a result or with an error naming what is
wrong: never INTERNAL or UNKNOWN, never a crash, never a partial write (a refused
request leaves etcd's revision where it was), and an accepted object reads back exactly
as the server returned it.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import grpc
import pytest
from google.protobuf.message import Message
from hypothesis import event, given
from hypothesis import strategies as st

from client import kinds
from client.kinds import Kind
from proto import api_pb2, meta_pb2
from tests.fuzz.conftest import FUZZ, NAMESPACE
from tests.fuzz.messages import objects
from tests.support.apiserver import ApiServerProcess

pytestmark = pytest.mark.slow

REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
}
"""What a refusal may be; INTERNAL, UNKNOWN, UNAVAILABLE and the rest are failures."""

FIELD = re.compile(r"\b[a-z][A-Za-z0-9]*(\[[^\]]*\])?(\.[a-z][A-Za-z0-9]*(\[[^\]]*\])?)*:")
"""A field path followed by a colon, as `spec.containers[0].image:` in Invalid's text."""

CREATABLE = list(kinds.KINDS)


@dataclass
class Api:
    """Plain unary calls on one channel: no retries, so every answer is the server's."""

    channel: grpc.Channel
    http_port: int

    def call(self, method: str, request: Message, response: Any) -> Any:
        stub = self.channel.unary_unary(
            f"/tugboat.v1.Resources/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,
        )
        return stub(request, timeout=30)

    def revision(self) -> int:
        """etcd's revision now (a consistent list reads it from etcd)."""
        listed = self.call(
            "List",
            api_pb2.ListRequest(resource="namespaces", limit=1),
            api_pb2.ListResponse,
        )
        return int(listed.resource_version)


@pytest.fixture(scope="module")
def api(server: ApiServerProcess) -> Iterator[Api]:
    with grpc.insecure_channel(
        server.endpoint, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    ) as channel:
        yield Api(channel, server.http_port)


def rest_get(api: Api, kind: Kind, namespace: str, name: str) -> int:
    """The HTTP status of the object's REST read, as kubectl would make it."""
    base = "/api/v1" if not kind.group else f"/apis/{kind.api_version}"
    where = f"/namespaces/{quote(namespace, safe='')}" if kind.namespaced else ""
    url = f"http://127.0.0.1:{api.http_port}{base}{where}/{kind.resource}/{quote(name, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def refused_cleanly(
    api: Api, error: grpc.RpcError, before: int, what: str, *, names_field: bool = True
) -> None:
    """A refusal of the allowed kinds, with a message (naming the field when the object
    was decoded but is invalid), and nothing written."""
    code, details = error.code(), error.details() or ""
    event(f"refused: {code.name}")
    assert code in REFUSALS, f"{what}: {code} {details}"
    if code == grpc.StatusCode.INVALID_ARGUMENT and names_field:
        assert FIELD.search(details), f"{what}: Invalid names no field: {details}"
    assert details.strip(), f"{what}: {code} without a message"
    assert api.revision() == before, f"{what}: refused ({code} {details}) but etcd moved"


def delete_at_once(api: Api, kind: Kind, meta: meta_pb2.ObjectMeta) -> None:
    """Remove an accepted object, so that the keyspace stays small."""
    request = api_pb2.DeleteRequest(
        resource=kind.resource, namespace=meta.namespace, name=meta.name, grace_period_seconds=0
    )
    api.call("Delete", request, api_pb2.ObjectResponse)


def where(kind: Kind, obj: Message) -> str:
    return obj.metadata.namespace if kind.namespaced else ""  # type: ignore[attr-defined]


@st.composite
def kind_and_object(draw: st.DrawFn) -> tuple[Kind, Message]:
    kind = draw(st.sampled_from(CREATABLE))
    return kind, draw(objects(kind.message, NAMESPACE))


@FUZZ
@given(drawn=kind_and_object())
def test_a_random_object_is_stored_as_read_back_or_refused_by_field_with_nothing_written(
    api: Api, drawn: tuple[Kind, Message]
) -> None:
    kind, obj = drawn
    what = f"create {kind.resource}"
    before = api.revision()
    request = api_pb2.CreateRequest(
        resource=kind.resource, namespace=where(kind, obj), object=obj.SerializeToString()
    )
    try:
        created = api.call("Create", request, api_pb2.ObjectResponse)
    except grpc.RpcError as e:
        refused_cleanly(api, e, before, what)
        return
    event("accepted")
    stored = kind.message.FromString(created.object)
    meta = stored.metadata  # type: ignore[attr-defined]
    read = api.call(
        "Get",
        api_pb2.GetRequest(resource=kind.resource, namespace=meta.namespace, name=meta.name),
        api_pb2.ObjectResponse,
    )
    assert kind.message.FromString(read.object) == stored, f"{what}: read back differs"
    assert rest_get(api, kind, meta.namespace, meta.name) == 200, f"{what}: not readable as JSON"
    delete_at_once(api, kind, meta)


@FUZZ
@given(data=st.binary(max_size=2048), kind=st.sampled_from(CREATABLE))
def test_bytes_that_are_not_an_object_are_refused_with_nothing_written(
    api: Api, data: bytes, kind: Kind
) -> None:
    before = api.revision()
    request = api_pb2.CreateRequest(resource=kind.resource, namespace=NAMESPACE, object=data)
    try:
        created = api.call("Create", request, api_pb2.ObjectResponse)
    except grpc.RpcError as e:
        what = f"create {kind.resource} from {len(data)} bytes"
        refused_cleanly(api, e, before, what, names_field=False)
        return
    # Some byte strings are valid messages (empty is one): then it is an ordinary object.
    delete_at_once(api, kind, kind.message.FromString(created.object).metadata)  # type: ignore[attr-defined]


@FUZZ
@given(
    resource=st.one_of(st.sampled_from([k.resource for k in kinds.KINDS]), st.text(max_size=30)),
    namespace=st.one_of(st.just(NAMESPACE), st.text(max_size=70)),
    name=st.one_of(st.text(max_size=300), st.just("")),
    selector=st.text(max_size=60),
)
def test_reads_with_random_names_and_selectors_answer_or_refuse(
    api: Api, resource: str, namespace: str, name: str, selector: str
) -> None:
    for method, request, response in (
        ("Get", api_pb2.GetRequest(resource=resource, namespace=namespace, name=name),
         api_pb2.ObjectResponse),
        ("List", api_pb2.ListRequest(resource=resource, namespace=namespace,
                                     label_selector=selector, limit=2), api_pb2.ListResponse),
        ("List", api_pb2.ListRequest(resource=resource, namespace=namespace,
                                     field_selector=selector, limit=2), api_pb2.ListResponse),
    ):  # fmt: skip
        try:
            api.call(method, request, response)
        except grpc.RpcError as e:
            assert e.code() in REFUSALS, f"{method} {resource}: {e.code()} {e.details()}"

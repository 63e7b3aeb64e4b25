"""Broken bytes at the API server's gRPC port: garbage, malformed HTTP/2 frames, gRPC
messages whose length lies, undecodable requests and oversize ones.

Whatever one connection sends, the server stays up and a bystander client, reading in a
loop on its own connection all the while, sees no error. Frames are built by hand (an
HTTP/2 frame header, HPACK literals without Huffman coding) so that they can be wrong
in exactly one way each.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
from collections.abc import Iterator

import grpc
import pytest

from proto import api_pb2, core_pb2, meta_pb2
from tests.fuzz.conftest import NAMESPACE
from tests.support.apiserver import ApiServerProcess

pytestmark = pytest.mark.slow

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8, 0x9,
)  # fmt: skip
END_STREAM, END_HEADERS = 0x1, 0x4


def frame(kind: int, flags: int, stream: int, payload: bytes, length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    return struct.pack(">I", size)[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name: str, value: str) -> bytes:
    """An HPACK literal header field without indexing, lengths under 127."""
    n, v = name.encode(), value.encode()
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def grpc_headers(port: int, method: str = "Get") -> bytes:
    return b"".join(
        literal(k, v)
        for k, v in (
            (":method", "POST"),
            (":scheme", "http"),
            (":path", f"/tugboat.v1.Resources/{method}"),
            (":authority", f"127.0.0.1:{port}"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        )
    )


def send_raw(port: int, data: bytes, *, read: bool = True) -> None:
    """Send `data` on a fresh connection, read what comes back for a moment, close."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
            if read:
                s.settimeout(1.0)
                for _ in range(16):
                    if not s.recv(65536):
                        break
        except OSError:
            pass  # reset or timed out: the server chose to drop us, which is fine


def malformed(port: int) -> list[tuple[str, bytes]]:
    """Each a connection's worth of bytes, wrong in one way."""
    headers = frame(HEADERS, END_HEADERS, 1, grpc_headers(port))
    request = api_pb2.GetRequest(resource="namespaces", name=NAMESPACE).SerializeToString()
    settings = frame(SETTINGS, 0, 0, b"")
    rng = random.Random(7)
    return [
        ("random bytes", bytes(rng.randrange(256) for _ in range(4096))),
        ("HTTP/1.1", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("half a preface", PREFACE[:10]),
        ("a preface and noise", PREFACE + bytes(rng.randrange(256) for _ in range(512))),
        ("a frame longer than allowed", PREFACE + settings + frame(DATA, 0, 1, b"x", 1 << 24)),
        ("DATA before HEADERS", PREFACE + settings + frame(DATA, END_STREAM, 1, b"\0\0\0\0\0")),
        ("HEADERS on stream 0", PREFACE + settings + frame(HEADERS, END_HEADERS, 0, b"\x00")),
        ("HPACK garbage", PREFACE + settings + frame(HEADERS, END_HEADERS, 1, b"\xff" * 64)),
        ("CONTINUATION alone", PREFACE + settings + frame(CONTINUATION, END_HEADERS, 1, b"\x00")),
        ("a zero window update", PREFACE + settings + frame(WINDOW_UPDATE, 0, 0, b"\0\0\0\0")),
        ("a short PING", PREFACE + settings + frame(PING, 0, 0, b"\x01")),
        ("SETTINGS of odd length", PREFACE + frame(SETTINGS, 0, 0, b"\x00\x01\x02")),
        (
            "a gRPC length of 2 GiB",
            PREFACE + settings + headers
            + frame(DATA, END_STREAM, 1, b"\x00" + struct.pack(">I", 0x7FFFFFFF) + request),
        ),
        (
            "a gRPC length longer than the data",
            PREFACE + settings + headers
            + frame(DATA, END_STREAM, 1, b"\x00" + struct.pack(">I", 1000) + request),
        ),
        (
            "a compressed flag without compression",
            PREFACE + settings + headers
            + frame(DATA, END_STREAM, 1, b"\x01" + struct.pack(">I", len(request)) + request),
        ),
        (
            "a stream reset mid-request",
            PREFACE + settings + headers
            + frame(DATA, 0, 1, b"\x00" + struct.pack(">I", len(request)) + request[:3])
            + frame(RST_STREAM, 0, 1, b"\0\0\0\x08"),
        ),
        ("GOAWAY at once", PREFACE + settings + frame(GOAWAY, 0, 0, b"\0\0\0\0\0\0\0\x02")),
    ]  # fmt: skip


class Bystander:
    """A client reading a namespace in a loop on its own connection, noting every error."""

    def __init__(self, endpoint: str) -> None:
        self.channel = grpc.insecure_channel(endpoint)
        self.get = self.channel.unary_unary(
            "/tugboat.v1.Resources/Get",
            request_serializer=api_pb2.GetRequest.SerializeToString,
            response_deserializer=api_pb2.ObjectResponse.FromString,
        )
        self.errors: list[str] = []
        self.calls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        request = api_pb2.GetRequest(resource="namespaces", name=NAMESPACE)
        # Bounded by count as well as by stop(): 20,000 reads is far past any test here.
        for _ in range(20_000):
            if self._stop.is_set():
                return
            try:
                self.get(request, timeout=5)
                self.calls += 1
            except grpc.RpcError as e:
                self.errors.append(f"{e.code()}: {e.details()}")
            self._stop.wait(0.01)

    def __enter__(self) -> Bystander:
        self.get(api_pb2.GetRequest(resource="namespaces", name=NAMESPACE), timeout=10)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.channel.close()


@pytest.fixture
def bystander(server: ApiServerProcess) -> Iterator[Bystander]:
    with Bystander(server.endpoint) as b:
        yield b
    assert server.process is not None and server.process.poll() is None, server.logs()
    assert server.ready(), "the server stopped answering /readyz"
    assert b.calls > 0, "the bystander made no call"
    assert b.errors == [], b.errors


def test_malformed_frames_leave_the_server_up_and_other_clients_untouched(
    server: ApiServerProcess, bystander: Bystander
) -> None:
    for _what, data in malformed(server.port):
        send_raw(server.port, data)


def test_many_abandoned_connections_leave_the_server_up(
    server: ApiServerProcess, bystander: Bystander
) -> None:
    sockets = []
    try:
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(PREFACE[:7])
            sockets.append(s)
    finally:
        for s in sockets:
            s.close()


def test_requests_that_are_not_protobuf_or_too_large_are_refused(
    server: ApiServerProcess, bystander: Bystander
) -> None:
    with grpc.insecure_channel(
        server.endpoint, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    ) as channel:
        create = channel.unary_unary(
            "/tugboat.v1.Resources/Create",
            request_serializer=lambda b: b,
            response_deserializer=api_pb2.ObjectResponse.FromString,
        )
        for what, payload in (
            ("not protobuf", b"\xff\xff\xff\xff\x0f"),
            ("a field of the wrong wire type", b"\x0d\x00\x00\x00\x00"),
            ("16 MiB", b"\x0a" + b"\x80\x80\x80\x08" + b"x" * (16 * 1024 * 1024)),
        ):
            with pytest.raises(grpc.RpcError) as refused:
                create(payload, timeout=30)
            assert refused.value.code() != grpc.StatusCode.UNAVAILABLE, what

        # Under gRPC's limit but over a ConfigMap's 1 MiB: refused by field, nothing stored.
        big = core_pb2.ConfigMap(
            metadata=meta_pb2.ObjectMeta(name="big", namespace=NAMESPACE),
            data={"blob": "x" * (2 * 1024 * 1024)},
        )
        request = api_pb2.CreateRequest(
            resource="configmaps", namespace=NAMESPACE, object=big.SerializeToString()
        )
        with pytest.raises(grpc.RpcError) as too_big:
            create(request.SerializeToString(), timeout=30)
        assert too_big.value.code() == grpc.StatusCode.INVALID_ARGUMENT, too_big.value.details()
        assert "data: Too long" in (too_big.value.details() or "")
        get = channel.unary_unary(
            "/tugboat.v1.Resources/Get",
            request_serializer=api_pb2.GetRequest.SerializeToString,
            response_deserializer=api_pb2.ObjectResponse.FromString,
        )
        with pytest.raises(grpc.RpcError) as absent:
            get(api_pb2.GetRequest(resource="configmaps", namespace=NAMESPACE, name="big"))
        assert absent.value.code() == grpc.StatusCode.NOT_FOUND
